"""Loading landing files into the `raw` schema: incremental, idempotent and lossless.

Each file is loaded in one transaction: all of its rows (clean, quarantined, and the load-log
line) or none. A file already loaded (same path and size and time, or same path and content)
is not read again; a record already loaded (same content, or same messageId for events) is
counted as a duplicate and skipped. For every file: read = loaded + quarantined + duplicates.
"""

from __future__ import annotations

import csv
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from omni360.contract import EVENT_COLUMNS, Source
from omni360.ingestion.discovery import LandingFile, discover
from omni360.ingestion.readers import read_file
from omni360.ingestion.schema import LOAD_LOG_TABLE, QUARANTINE_TABLE, ensure_raw_schema, raw_table
from omni360.ingestion.validation import (
    EVENT_OBJECT,
    event_field,
    events_reason,
    tabular_reason,
)


@dataclass(frozen=True)
class FileLoad:
    """What one file contributed to one run."""

    source: str
    file: str
    status: str  # loaded | failed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    error: str | None = None
    seconds: float = 0.0

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_duplicate


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _already_loaded(con: duckdb.DuckDBPyConnection, file: LandingFile) -> tuple[bool, str | None]:
    """Whether the file was loaded before; the content hash when it had to be computed."""
    seen = con.execute(
        f"select file_bytes, file_mtime_ns, file_sha256 from {LOAD_LOG_TABLE} "
        "where source_file = ? and status = 'loaded'",
        [file.relative],
    ).fetchall()
    if any(size == file.size and mtime == file.mtime_ns for size, mtime, _ in seen):
        return True, None
    sha = _sha256(file.path)
    return any(known == sha for _, _, known in seen), sha


def _checked_sql(source: Source, missing: list[str]) -> str:
    if source.is_events:
        lifted = ", ".join(
            f"{event_field(name)} as {name}" for name in EVENT_COLUMNS if name != "payload"
        )
        return f"""
            select _line, {lifted}, line as payload, cast(null as varchar) as _extra,
                   md5({event_field("message_id")}) as _record_hash,
                   {events_reason()} as _reason
            from (select *, {EVENT_OBJECT} as _object from _incoming)"""
    columns = ", ".join(f'"{c}"' for c in source.column_names)
    return f"""
        select *, md5(cast(to_json([{columns}]) as varchar)) as _record_hash,
               {tabular_reason(source, missing)} as _reason
        from _incoming"""


def _record_as_json(columns: list[str]) -> str:
    """SQL for a record's fields as a JSON object (the raw text of a quarantined row)."""
    fields = ", ".join(f"'{c}': \"{c}\"" for c in columns)
    return f"cast(to_json({{{fields}}}) as varchar)"


def _load_rows(
    con: duckdb.DuckDBPyConnection, file: LandingFile, load_id: str
) -> tuple[int, int, int, int]:
    """Insert the file's clean rows and quarantine the rest; return read/loaded/quar./dup."""
    source = file.source
    missing = read_file(con, file)
    con.execute(f"create or replace temp table _checked as {_checked_sql(source, missing)}")
    data_columns = list(EVENT_COLUMNS) if source.is_events else source.column_names
    target = raw_table(source)
    select_list = ", ".join(f'"{c}"' for c in data_columns)
    inserted = con.execute(
        f"""
        insert into {target}
        select {select_list}, _extra, ?, _line, _record_hash, ?, now()::timestamp
        from _checked
        where _reason is null
          and _record_hash not in (select _record_hash from {target})
        qualify row_number() over (partition by _record_hash order by _line) = 1
        """,
        [file.relative, load_id],
    ).fetchone()[0]
    raw_text = "payload" if source.is_events else _record_as_json(data_columns)
    con.execute(
        f"""
        insert into {QUARANTINE_TABLE}
        select ?, ?, _line, {raw_text}, _reason, ?, now()::timestamp
        from _checked where _reason is not null
        union all
        select ?, ?, _line, raw_text, reason, ?, now()::timestamp from _malformed
        """,
        [source.name, file.relative, load_id] * 2,
    )
    valid, invalid, malformed = con.execute(
        "select count(*) filter (where _reason is null), "
        "count(*) filter (where _reason is not null), "
        "(select count(*) from _malformed) from _checked"
    ).fetchone()
    return valid + invalid + malformed, inserted, invalid + malformed, valid - inserted


def _log(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load: FileLoad,
    load_id: str,
    run_id: str | None,
    sha: str | None,
    started: float,
) -> None:
    con.execute(
        f"""
        insert into {LOAD_LOG_TABLE} values (
            ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
            to_timestamp(?)::timestamp, now()::timestamp
        )""",
        [
            load_id,
            run_id,
            file.source.name,
            file.relative,
            sha,
            file.size,
            file.mtime_ns,
            load.status,
            load.rows_read,
            load.rows_loaded,
            load.rows_quarantined,
            load.rows_duplicate,
            load.error,
            started,
        ],
    )


def load_file(
    con: duckdb.DuckDBPyConnection, file: LandingFile, run_id: str | None = None
) -> FileLoad | None:
    """Load one file atomically; None when it was loaded before and is skipped unread."""
    skip, sha = _already_loaded(con, file)
    if skip:
        return None
    load_id = uuid.uuid4().hex
    started = time.time()
    con.execute("begin transaction")
    try:
        read, loaded, quarantined, duplicate = _load_rows(con, file, load_id)
    except (duckdb.IOException, duckdb.InvalidInputException, OSError, csv.Error) as error:
        con.execute("rollback")
        message = str(error).strip().splitlines()[0][:500]
        load = FileLoad(
            file.source.name, file.relative, "failed", error=message, seconds=time.time() - started
        )
        _log(con, file, load, load_id, run_id, sha, started)
        return load
    load = FileLoad(
        file.source.name,
        file.relative,
        "loaded",
        read,
        loaded,
        quarantined,
        duplicate,
        seconds=time.time() - started,
    )
    _log(con, file, load, load_id, run_id, sha, started)
    con.execute("commit")
    return load


def load_landing(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    sources: list[str] | None = None,
    run_id: str | None = None,
    on_file: Callable[[LandingFile, FileLoad | None], None] | None = None,
) -> dict[str, list[FileLoad]]:
    """Load every new file of the chosen sources; return what each loaded file contributed."""
    ensure_raw_schema(con)
    results: dict[str, list[FileLoad]] = {}
    for name, files in discover(landing_dir, sources).items():
        results[name] = []
        for file in files:
            load = load_file(con, file, run_id)
            if load is not None:
                results[name].append(load)
            if on_file:
                on_file(file, load)
    return results
