"""Finding the files of a landing zone that belong to the contract."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from omni360.contract import SOURCES, Source


class LandingZoneError(RuntimeError):
    """The landing zone cannot be read at all (missing, not a folder, unreadable)."""


@dataclass(frozen=True)
class LandingFile:
    source: Source
    path: Path
    relative: str  # forward-slash path inside the landing zone, e.g. "orders/orders_1.csv"
    fmt: str  # "csv", "parquet" or "jsonl"
    size: int
    mtime_ns: int


def _format_of(name: str, source: Source) -> str | None:
    lowered = name.lower()
    for ending in sorted(source.formats, key=len, reverse=True):
        if lowered.endswith("." + ending):
            return ending.split(".")[0]
    return None


def check_landing_dir(landing_dir: Path) -> None:
    """Raise a one-line `LandingZoneError` when the folder cannot serve as a landing zone."""
    if not landing_dir.exists():
        raise LandingZoneError(f"landing zone {landing_dir} does not exist")
    if not landing_dir.is_dir():
        raise LandingZoneError(f"landing zone {landing_dir} is not a folder")
    if not os.access(landing_dir, os.R_OK | os.X_OK):
        raise LandingZoneError(f"landing zone {landing_dir} is not readable")


def discover(landing_dir: Path, sources: list[str] | None = None) -> dict[str, list[LandingFile]]:
    """Contract files per source, sorted by relative path (the load order).

    Hidden files and files whose ending the source does not accept are ignored; sub-folders
    inside a source folder are searched too (date-partitioned drops).
    """
    check_landing_dir(landing_dir)
    found: dict[str, list[LandingFile]] = {}
    for name in sources or list(SOURCES):
        source = SOURCES[name]
        folder = landing_dir / name
        files: list[LandingFile] = []
        if folder.is_dir():
            for path in folder.rglob("*"):
                rel = path.relative_to(landing_dir).as_posix()
                if any(part.startswith(".") for part in rel.split("/")) or not path.is_file():
                    continue
                fmt = _format_of(path.name, source)
                if fmt is None:
                    continue
                stat = path.stat()
                files.append(LandingFile(source, path, rel, fmt, stat.st_size, stat.st_mtime_ns))
        found[name] = sorted(files, key=lambda f: f.relative)
    return found
