"""Fault plans (seeded) and sliding-window rate limits for the emulator."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# What a fault does to one request:
#   error           answered 500/502/503 before anything is applied
#   rate_limit      answered 429 + Retry-After before anything is applied
#   timeout_before  stalled, then the connection dropped, before anything is applied
#   timeout_after   applied, then stalled and the connection dropped (the answer is lost)
#   ok              no fault (only meaningful in a script)
FAULTS = ("error", "rate_limit", "timeout_before", "timeout_after", "ok")


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail and how. Random faults are drawn from a generator seeded with
    `seed`, in the order requests arrive; `script` faults come first, one per request."""

    seed: int = 0
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    timeout_before_rate: float = 0.0
    timeout_after_rate: float = 0.0
    stall_seconds: float = 0.0  # how long a timeout stalls before dropping the connection
    retry_after: float = 1.0  # seconds an injected 429 asks for
    error_statuses: tuple[int, ...] = (500, 502, 503)
    providers: tuple[str, ...] = ()  # empty: every provider
    script: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rates = (
            self.error_rate,
            self.rate_limit_rate,
            self.timeout_before_rate,
            self.timeout_after_rate,
        )
        if any(rate < 0 or rate > 1 for rate in rates) or sum(rates) > 1 + 1e-9:
            raise ValueError("fault rates must lie in [0, 1] and add up to at most 1")
        if self.stall_seconds < 0 or self.retry_after < 0:
            raise ValueError("stall_seconds and retry_after must not be negative")
        unknown = [name for name in self.script if name not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults in script: {unknown} (known: {FAULTS})")
        if not self.error_statuses or any(not 500 <= s < 600 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx codes")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> FaultPlan:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}")
        for name in ("error_statuses", "providers", "script"):
            if name in data:
                data[name] = tuple(data[name])
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        plan = asdict(self)
        for name in ("error_statuses", "providers", "script"):
            plan[name] = list(plan[name])
        return plan


@dataclass
class FaultInjector:
    plan: FaultPlan = field(default_factory=FaultPlan)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.replace(self.plan)

    def replace(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)
            self._script = deque(plan.script)

    def decide(self, provider: str) -> tuple[str | None, int]:
        """The fault for the next request to `provider` (None for none) and, for an error,
        its status."""
        plan = self.plan
        if plan.providers and provider not in plan.providers:
            return None, 0
        with self._lock:
            if self._script:
                fault = self._script.popleft()
            else:
                draw = self._random.random()
                fault = "ok"
                for name, rate in (
                    ("error", plan.error_rate),
                    ("rate_limit", plan.rate_limit_rate),
                    ("timeout_before", plan.timeout_before_rate),
                    ("timeout_after", plan.timeout_after_rate),
                ):
                    if draw < rate:
                        fault = name
                        break
                    draw -= rate
            status = self._random.choice(plan.error_statuses) if fault == "error" else 0
        return (None if fault == "ok" else fault), status


class SlidingWindow:
    """At most `requests` admissions in any `per_seconds` window (a log of admissions)."""

    def __init__(self, requests: int, per_seconds: float) -> None:
        if requests < 1 or per_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and per_seconds > 0")
        self.requests = int(requests)
        self.per_seconds = float(per_seconds)
        self._log: deque[float] = deque()

    def wait(self, now: float) -> float:
        """0 when a request may pass now, else the seconds until one may."""
        log = self._log
        while log and now - log[0] >= self.per_seconds:
            log.popleft()
        if len(log) < self.requests:
            return 0.0
        return self.per_seconds - (now - log[0])

    def admit(self, now: float) -> None:
        self._log.append(now)


class RateLimit:
    """Several windows that must all admit a request (e.g. a burst and a steady limit)."""

    def __init__(self, windows: Iterable[tuple[int, float]]) -> None:
        self.windows = [SlidingWindow(requests, seconds) for requests, seconds in windows]
        self._lock = threading.Lock()

    def check(self) -> float:
        """0 and the request is counted, or the seconds to wait (nothing is counted)."""
        with self._lock:
            now = time.monotonic()
            wait = max((window.wait(now) for window in self.windows), default=0.0)
            if wait > 0:
                return wait
            for window in self.windows:
                window.admit(now)
            return 0.0

    def describe(self) -> list[list[float]]:
        return [[window.requests, window.per_seconds] for window in self.windows]


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up, as providers send them (0 stays 0)."""
    return str(math.ceil(seconds - 1e-9)) if seconds > 0 else "0"
