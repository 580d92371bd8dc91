"""Time: the generated window, Kyiv local time, and the ways source systems write a timestamp.

Every instant is kept as integer milliseconds since the epoch (UTC). A source system writes it
in one of the `Style`s; a style without fractional seconds only ever carries whole seconds, so
the written text is always the exact instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum

import numpy as np

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


class Style(IntEnum):
    """How a system writes a timestamp (example: the same instant each time)."""

    Z = 0  # 2026-10-01T09:15:00Z
    Z_MS = 1  # 2026-10-01T09:15:00.123Z
    LOCAL = 2  # 2026-10-01T12:15:00+03:00 (Kyiv wall clock with its offset)
    NAIVE_UTC = 3  # 2026-10-01 09:15:00 (no offset: UTC by contract)
    LOCAL_MS = 4  # 2026-10-01T12:15:00.123+03:00
    UTC_MICROS = 5  # 2026-10-01T09:15:00.123000+00:00


WHOLE_SECOND_STYLES = np.array([Style.Z, Style.LOCAL, Style.NAIVE_UTC])


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Window:
    """`days` whole UTC days ending with `end_date`."""

    end_date: date
    days: int

    @property
    def start_date(self) -> date:
        return self.end_date - timedelta(days=self.days - 1)

    @property
    def start_ms(self) -> int:
        return _epoch_ms(datetime(*self.start_date.timetuple()[:3], tzinfo=UTC))

    @property
    def end_ms(self) -> int:
        """First instant after the window."""
        return self.start_ms + self.days * DAY_MS

    def day_of(self, ms: np.ndarray) -> np.ndarray:
        """Day index of each instant, instants before the window counting as day 0."""
        return np.clip((np.asarray(ms) - self.start_ms) // DAY_MS, 0, self.days - 1)

    def date_text(self, day: int) -> str:
        return (self.start_date + timedelta(days=int(day))).isoformat()

    def clamp(self, ms: np.ndarray) -> np.ndarray:
        return np.clip(ms, self.start_ms, self.end_ms - 1)


def summer_time_spans(first_year: int, last_year: int) -> list[tuple[int, int]]:
    """EU summer time (Kyiv UTC+3): last Sunday of March to last Sunday of October, 01:00 UTC."""
    spans = []
    for year in range(first_year, last_year + 1):
        bounds = []
        for month in (3, 10):
            last = date(year, month, 31)
            sunday = last - timedelta(days=(last.weekday() + 1) % 7)
            bounds.append(_epoch_ms(datetime(*sunday.timetuple()[:3], 1, tzinfo=UTC)))
        spans.append((bounds[0], bounds[1]))
    return spans


def kyiv_offset_hours(ms: np.ndarray) -> np.ndarray:
    """Kyiv's UTC offset (2 or 3 hours) at each instant."""
    ms = np.asarray(ms)
    if ms.size == 0:
        return np.zeros(0, dtype=np.int64)
    years = ms.astype("datetime64[ms]").astype("datetime64[Y]").astype(int) + 1970
    offset = np.full(ms.shape, 2, dtype=np.int64)
    for start, end in summer_time_spans(int(years.min()), int(years.max())):
        offset[(ms >= start) & (ms < end)] = 3
    return offset


def fit_to_style(ms: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Drop the milliseconds of instants whose style writes whole seconds."""
    whole = np.isin(style, WHOLE_SECOND_STYLES)
    return np.where(whole, ms - ms % SECOND_MS, ms)


# Share of activity per local hour (0-23) and per weekday (Monday first).
ONLINE_HOURS = np.array(
    [
        1.2,
        0.6,
        0.3,
        0.2,
        0.2,
        0.4,
        1.0,
        2.0,
        3.0,
        3.6,
        4.0,
        4.4,
        4.8,
        4.6,
        4.4,
        4.4,
        4.6,
        5.0,
        5.6,
        6.4,
        7.0,
        6.8,
        5.2,
        2.8,
    ]
)
STORE_HOURS = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0.6,
        2.0,
        3.0,
        3.6,
        3.8,
        3.6,
        3.6,
        4.0,
        4.6,
        5.2,
        5.0,
        3.4,
        1.4,
        0,
        0,
    ]
)
OFFICE_HOURS = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0.4,
        3.0,
        4.0,
        4.2,
        3.8,
        3.6,
        4.0,
        4.0,
        3.8,
        3.2,
        2.4,
        1.6,
        0.6,
        0,
        0,
        0,
    ]
)
WEEKDAYS = np.array([1.0, 0.95, 0.95, 1.0, 1.1, 1.25, 1.15])


def day_weights(window: Window) -> np.ndarray:
    """Relative activity of each day of the window: weekly rhythm and a slow growth."""
    first_weekday = window.start_date.weekday()
    weekday = (np.arange(window.days) + first_weekday) % 7
    return WEEKDAYS[weekday] * np.linspace(0.9, 1.1, window.days)


def sample_instants(
    rng: np.random.Generator,
    window: Window,
    n: int,
    hours: np.ndarray = ONLINE_HOURS,
    first_day: np.ndarray | int = 0,
) -> np.ndarray:
    """`n` instants in the window (from `first_day` on), on the Kyiv hours of the given profile."""
    weights = day_weights(window)
    cumulative = np.concatenate([[0.0], np.cumsum(weights)])
    low = cumulative[np.clip(np.asarray(first_day), 0, window.days - 1)]
    u = low + rng.random(n) * (cumulative[-1] - low)
    day = np.clip(np.searchsorted(cumulative, u, side="right") - 1, 0, window.days - 1)
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    within = rng.integers(0, HOUR_MS, n)
    local = window.start_ms + day * DAY_MS + hour * HOUR_MS + within
    utc = local - kyiv_offset_hours(local - 3 * HOUR_MS) * HOUR_MS
    return window.clamp(np.where(utc < window.start_ms, utc + DAY_MS, utc))
