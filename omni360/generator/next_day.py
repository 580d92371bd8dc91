"""The last day of a generated landing zone held back, to arrive later as the next day's drop.

Benchmarks and checks of incremental builds load every day but the last, build, then move
the held-back files in and build again: the shape of a daily delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The day in a landing file's name: `orders_2026-10-31.csv`, `events_2026-10-31_late.jsonl`.
FILE_DAY = re.compile(r"_(\d{4}-\d{2}-\d{2})(?=[_.])")


@dataclass(frozen=True)
class HeldBack:
    """What `hold_back_last_day` moved: the day, the days the zone spans, files and bytes."""

    day: str
    days: int
    files: int
    bytes: int


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def hold_back_last_day(landing: Path, held: Path) -> HeldBack:
    """Move every file named for the landing zone's last day (its regular, late and re-sent
    drops) from `landing` into `held`, keeping the relative paths."""
    days = {found[1] for path in _files(landing) if (found := FILE_DAY.search(path.name))}
    if not days:
        raise ValueError(f"no file named for a day under {landing}")
    last = max(days)
    moved, size = 0, 0
    for path in _files(landing):
        found = FILE_DAY.search(path.name)
        if found and found[1] == last:
            target = held / path.relative_to(landing)
            target.parent.mkdir(parents=True, exist_ok=True)
            size += path.stat().st_size
            path.rename(target)
            moved += 1
    return HeldBack(day=last, days=len(days), files=moved, bytes=size)


def release_held_back(held: Path, landing: Path) -> None:
    """Move the held-back files into the landing zone: the next day's delivery."""
    for path in _files(held):
        target = landing / path.relative_to(held)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
