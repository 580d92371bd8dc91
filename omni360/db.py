"""Opening the DuckDB file: one writer at a time, waiting politely for the lock."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

LOCK_MARKERS = ("Could not set lock", "Conflicting lock")


class DatabaseBusyError(RuntimeError):
    """Another process held the DuckDB file's write lock for longer than we would wait."""


def _is_lock_error(error: Exception) -> bool:
    return any(marker in str(error) for marker in LOCK_MARKERS)


def connect(
    db_path: Path, *, read_only: bool = False, wait_seconds: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Connect to the warehouse file, retrying while another process holds its lock.

    DuckDB allows one writing process per file. Instead of failing on "Could not set lock on
    file", a caller waits up to `wait_seconds` (with backoff) and then gets a clear
    `DatabaseBusyError`; the default wait is `OMNI360_LOCK_WAIT` seconds (120 when unset).
    Sessions always run in UTC.
    """
    if wait_seconds is None:
        wait_seconds = float(os.environ.get("OMNI360_LOCK_WAIT", "120"))
    if read_only and not db_path.exists():
        raise FileNotFoundError(f"no warehouse at {db_path}: run `omni360 run` first")
    if not read_only:
        db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            con = duckdb.connect(str(db_path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if not _is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"{db_path} is in use by another process (one writer at a time); "
                    f"waited {wait_seconds:.0f} s. Try again when the other run has finished."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    con.execute("set TimeZone = 'UTC'")
    return con


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether the warehouse holds a table or view `schema.name`."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(found and found[0])
