"""Loading landing files into the `raw` schema: incremental, idempotent and lossless.

Files are loaded atomically: all of a file's rows (clean, quarantined, and its load-log line)
or none. A file already loaded (same path and size and time, or same path and content) is not
read again; a record already loaded (same content, or same messageId for events) is counted
as a duplicate and skipped. For every file: read = loaded + quarantined + duplicates.

`load_landing` reads the new files of a source one by one into a batch (up to
`BATCH_ROWS` records or `BATCH_BYTES` of files), then validates the batch, looks its record
hashes up in the target table once (a semi-join that scans the target's hash column, with the
batch's hashes as the hash table), and writes the batch's rows, quarantine and load-log lines
in one transaction. A record repeated within the batch counts as a duplicate after its first
occurrence in path-then-line order, exactly as when the files are loaded one after another.
A file the reader cannot read is logged as failed and leaves the batch; should a batch fail as
a whole, its files are loaded again one at a time (`load_file`).
"""

from __future__ import annotations

import csv
import hashlib
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from omni360.contract import EVENT_COLUMNS, SOURCES, Source
from omni360.db import connect
from omni360.ingestion.discovery import LandingFile, discover
from omni360.ingestion.readers import read_file
from omni360.ingestion.schema import LOAD_LOG_TABLE, QUARANTINE_TABLE, ensure_raw_schema, raw_table
from omni360.ingestion.validation import (
    EVENT_OBJECT,
    EVENT_VALUES,
    event_field,
    events_reason,
    tabular_reason,
)
from omni360.privacy.suppression import Suppression, active_suppression

BATCH_ROWS = 1_000_000  # records read into one batch before it is written
# DuckDB's memory while loading, when the database is on DuckDB's default (80% of the RAM):
# past it DuckDB spills to disk and evicts cached blocks of the warehouse, so the memory of a
# load does not grow with the warehouse.
MEMORY_LIMIT = "2GB"
BATCH_BYTES = 512 << 20  # or this many bytes of files
# What a reader raises for a file it cannot read (not gzip, not Parquet, bad encoding...);
# Python's gzip, reading a CSV header, raises EOFError or zlib.error on a cut or corrupt file.
READ_ERRORS = (
    duckdb.IOException,
    duckdb.InvalidInputException,
    OSError,
    EOFError,
    zlib.error,
    csv.Error,
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


def _checked_sql(
    source: Source,
    missing: list[str],
    relation: str = "_incoming",
    suppression: Suppression | None = None,
) -> str:
    """Each record of `relation` with its `_record_hash` and `_reason` (null: valid; the
    erased-person reason when `suppression` holds it back); other columns of the relation (a
    batch's `_file_no`) are kept."""
    checked = _validated_sql(source, missing, relation)
    return suppression.checked_sql(source, checked) if suppression else checked


def _quarantine_text(text: str, suppression: Suppression | None, reason: str = "_reason") -> str:
    """A quarantined row's text as stored: withheld when it is about an erased person."""
    return suppression.text_sql(text, reason) if suppression else text


def _validated_sql(source: Source, missing: list[str], relation: str) -> str:
    if source.is_events:
        lifted = ", ".join(
            f"{event_field(name)} as {name}" for name in EVENT_COLUMNS if name != "payload"
        )
        return f"""
            select * exclude (line, _object, _event_values), {lifted}, line as payload,
                   cast(null as varchar) as _extra,
                   md5({event_field("message_id")}) as _record_hash,
                   {events_reason()} as _reason
            from (
                select *, {EVENT_VALUES} as _event_values
                from (select *, {EVENT_OBJECT} as _object from {relation})
            )"""
    columns = ", ".join(f'"{c}"' for c in source.column_names)
    return f"""
        select *, md5(cast(to_json([{columns}]) as varchar)) as _record_hash,
               {tabular_reason(source, missing)} as _reason
        from {relation}"""


def _record_as_json(columns: list[str]) -> str:
    """SQL for a record's fields as a JSON object (the raw text of a quarantined row)."""
    fields = ", ".join(f"'{c}': \"{c}\"" for c in columns)
    return f"cast(to_json({{{fields}}}) as varchar)"


def _load_rows(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    load_id: str,
    suppression: Suppression | None = None,
) -> tuple[int, int, int, int]:
    """Insert the file's clean rows and quarantine the rest; return read/loaded/quar./dup."""
    source = file.source
    missing = read_file(con, file)
    checked = _checked_sql(source, missing, suppression=suppression)
    con.execute(f"create or replace temp table _checked as {checked}")
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
    raw_text = _quarantine_text(
        "payload" if source.is_events else _record_as_json(data_columns), suppression
    )
    con.execute(
        f"""
        insert into {QUARANTINE_TABLE}
        select ?, ?, _line, {raw_text}, _reason, ?, now()::timestamp
        from _checked where _reason is not null
        union all
        select ?, ?, _line, {_quarantine_text("raw_text", suppression, "reason")}, reason, ?,
               now()::timestamp
        from _malformed
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
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    run_id: str | None = None,
    suppression: Suppression | None = None,
) -> FileLoad | None:
    """Load one file atomically; None when it was loaded before and is skipped unread."""
    skip, sha = _already_loaded(con, file)
    if skip:
        return None
    load_id = uuid.uuid4().hex
    started = time.time()
    con.execute("begin transaction")
    try:
        read, loaded, quarantined, duplicate = _load_rows(con, file, load_id, suppression)
    except READ_ERRORS as error:
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


@dataclass
class _Member:
    """A file read into the current batch."""

    file: LandingFile
    sha: str | None
    load_id: str
    started: float
    read_seconds: float


@dataclass
class _Batch:
    """New files of one source read into `_batch` / `_batch_malformed`, not yet written."""

    source: Source
    missing: list[str] | None = None  # contract columns the batch's files lack
    members: list[_Member] = field(default_factory=list)
    failed: list[tuple[LandingFile, FileLoad, str, str | None, float]] = field(default_factory=list)
    rows: int = 0
    bytes: int = 0

    @property
    def full(self) -> bool:
        return self.rows >= BATCH_ROWS or self.bytes >= BATCH_BYTES


def _known_files(
    con: duckdb.DuckDBPyConnection, source: Source
) -> dict[str, list[tuple[int, int, str | None]]]:
    """(size, mtime, sha256) of every loaded file of the source, by path: one query."""
    known: dict[str, list[tuple[int, int, str | None]]] = {}
    for path, size, mtime, sha in con.execute(
        f"select source_file, file_bytes, file_mtime_ns, file_sha256 from {LOAD_LOG_TABLE} "
        "where source = ? and status = 'loaded'",
        [source.name],
    ).fetchall():
        known.setdefault(path, []).append((size, mtime, sha))
    return known


def _new_files(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[LandingFile],
    on_file: Callable[[LandingFile, FileLoad | None], None] | None,
) -> Iterator[tuple[LandingFile, str | None]]:
    """The files not loaded before, with their content hash, in path order.

    Files whose path, size and time match a load are skipped unread; the others are hashed
    in a background thread while the caller reads the previous ones.
    """
    known = _known_files(con, source)
    unread = []
    for file in files:
        if any(
            size == file.size and mtime == file.mtime_ns
            for size, mtime, _ in known.get(file.relative, [])
        ):
            if on_file:
                on_file(file, None)
            continue
        unread.append(file)
    with ThreadPoolExecutor(max_workers=1) as hasher:
        for file, sha in zip(unread, hasher.map(lambda f: _sha256(f.path), unread), strict=True):
            if any(known_sha == sha for _, _, known_sha in known.get(file.relative, [])):
                if on_file:
                    on_file(file, None)
                continue
            yield file, sha


def _read_into_batch(con: duckdb.DuckDBPyConnection, batch: _Batch, file: LandingFile) -> bool:
    """Append the file's records to the batch; False (batch untouched) when the file has
    other missing columns than the batch's files and must start a batch of its own."""
    missing = read_file(con, file)
    if batch.members and missing != batch.missing:
        return False
    file_no = len(batch.members)
    if not batch.members:
        batch.missing = missing
        con.execute(
            "create or replace temp table _batch as "
            "select *, cast(0 as integer) as _file_no from _incoming limit 0"
        )
        con.execute(
            "create or replace temp table _batch_malformed "
            "(_file_no integer, _line bigint, raw_text varchar, reason varchar)"
        )
    con.execute(f"insert into _batch by name select *, {file_no} as _file_no from _incoming")
    con.execute(
        f"insert into _batch_malformed select {file_no}, _line, raw_text, reason from _malformed"
    )
    return True


def _write_batch(
    con: duckdb.DuckDBPyConnection,
    batch: _Batch,
    run_id: str | None,
    suppression: Suppression | None = None,
) -> list[FileLoad]:
    """Validate the batch, skip records already loaded, and write it in one transaction."""
    source = batch.source
    target = raw_table(source)
    started = time.time()
    con.execute(
        "create or replace temp table _batch_files "
        "(_file_no integer, _batch_source_file varchar, _batch_load_id varchar)"
    )
    con.executemany(
        "insert into _batch_files values (?, ?, ?)",
        [[n, m.file.relative, m.load_id] for n, m in enumerate(batch.members)],
    )
    # `_new`: valid, not in the target, and the first of its record in the batch.
    checked = _checked_sql(source, batch.missing or [], "_batch", suppression)
    con.execute(
        f"""
        create or replace temp table _checked as
        with checked as materialized ({checked}),
        seen as (
            select distinct _record_hash from {target}
            where _record_hash in (select _record_hash from checked where _reason is null)
        )
        select *,
            _reason is null
            and _record_hash not in (select _record_hash from seen)
            and row_number() over (
                partition by _record_hash, _reason is null order by _file_no, _line
            ) = 1 as _new
        from checked
        """
    )
    counts = {
        file_no: (valid, invalid, new)
        for file_no, valid, invalid, new in con.execute(
            "select _file_no, count(*) filter (where _reason is null), "
            "count(*) filter (where _reason is not null), count(*) filter (where _new) "
            "from _checked group by 1"
        ).fetchall()
    }
    malformed = dict(
        con.execute("select _file_no, count(*) from _batch_malformed group by 1").fetchall()
    )
    data_columns = list(EVENT_COLUMNS) if source.is_events else source.column_names
    select_list = ", ".join(f'"{name}"' for name in data_columns)
    raw_text = _quarantine_text(
        "payload" if source.is_events else _record_as_json(data_columns), suppression
    )
    write_seconds = time.time() - started
    total_rows = max(batch.rows, 1)
    loads: list[FileLoad] = []
    con.execute("begin transaction")
    try:
        con.execute(
            f"""
            insert into {target}
            select {select_list}, _extra, _batch_source_file, _line, _record_hash,
                   _batch_load_id, now()::timestamp
            from _checked join _batch_files using (_file_no)
            where _new
            """
        )
        con.execute(
            f"""
            insert into {QUARANTINE_TABLE}
            select ?, _batch_source_file, _line, {raw_text}, _reason, _batch_load_id,
                   now()::timestamp
            from _checked join _batch_files using (_file_no)
            where _reason is not null
            union all
            select ?, _batch_source_file, _line,
                   {_quarantine_text("raw_text", suppression, "reason")}, reason,
                   _batch_load_id, now()::timestamp
            from _batch_malformed join _batch_files using (_file_no)
            """,
            [source.name, source.name],
        )
        write_seconds = time.time() - started
        for file_no, member in enumerate(batch.members):
            valid, invalid, new = counts.get(file_no, (0, 0, 0))
            bad = invalid + malformed.get(file_no, 0)
            share = write_seconds * _rows_share(counts.get(file_no), bad, total_rows)
            load = FileLoad(
                source.name,
                member.file.relative,
                "loaded",
                valid + bad,
                new,
                bad,
                valid - new,
                seconds=member.read_seconds + share,
            )
            _log(con, member.file, load, member.load_id, run_id, member.sha, member.started)
            loads.append(load)
        for file, load, load_id, sha, file_started in batch.failed:
            _log(con, file, load, load_id, run_id, sha, file_started)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return loads


def _rows_share(counts: tuple[int, int, int] | None, bad: int, total: int) -> float:
    valid, invalid, _ = counts or (0, 0, 0)
    return (valid + invalid + bad) / total


def _drop_batch_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("_batch", "_batch_malformed", "_batch_files", "_checked"):
        con.execute(f"drop table if exists {table}")


def _flush(
    con: duckdb.DuckDBPyConnection,
    batch: _Batch,
    run_id: str | None,
    results: list[FileLoad],
    on_file: Callable[[LandingFile, FileLoad | None], None] | None,
    suppression: Suppression | None,
) -> None:
    """Write the batch; when that fails as a whole, load its files one at a time instead."""
    if not batch.members and not batch.failed:
        return
    try:
        loads = _write_batch(con, batch, run_id, suppression) if batch.members else []
        if not batch.members:
            con.execute("begin transaction")
            for file, load, load_id, sha, file_started in batch.failed:
                _log(con, file, load, load_id, run_id, sha, file_started)
            con.execute("commit")
    except duckdb.Error:
        loads = []
        for member in batch.members:
            load = load_file(con, member.file, run_id, suppression)
            if load is not None:
                loads.append(load)
    finally:
        _drop_batch_tables(con)
    by_file = {load.file: load for load in loads}
    by_file.update({file.relative: load for file, load, *_ in batch.failed})
    for file in sorted(
        [m.file for m in batch.members] + [f[0] for f in batch.failed], key=lambda f: f.relative
    ):
        load = by_file.get(file.relative)
        if load is not None:
            results.append(load)
        if on_file:
            on_file(file, load)


def _load_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[LandingFile],
    run_id: str | None,
    on_file: Callable[[LandingFile, FileLoad | None], None] | None,
    suppression: Suppression | None = None,
) -> list[FileLoad]:
    results: list[FileLoad] = []
    batch = _Batch(source)
    for file, sha in _new_files(con, source, files, on_file):
        started = time.time()
        try:
            fits = _read_into_batch(con, batch, file)
            if not fits:
                _flush(con, batch, run_id, results, on_file, suppression)
                batch = _Batch(source)
                fits = _read_into_batch(con, batch, file)
        except READ_ERRORS as error:
            message = str(error).strip().splitlines()[0][:500]
            load = FileLoad(
                source.name, file.relative, "failed", error=message, seconds=time.time() - started
            )
            batch.failed.append((file, load, uuid.uuid4().hex, sha, started))
            continue
        rows = con.execute("select count(*) from _incoming").fetchone()[0]
        batch.members.append(_Member(file, sha, uuid.uuid4().hex, started, time.time() - started))
        batch.rows += rows
        batch.bytes += file.size
        if batch.full:
            _flush(con, batch, run_id, results, on_file, suppression)
            batch = _Batch(source)
    _flush(con, batch, run_id, results, on_file, suppression)
    return results


def load_landing(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    sources: list[str] | None = None,
    run_id: str | None = None,
    on_file: Callable[[LandingFile, FileLoad | None], None] | None = None,
) -> dict[str, list[FileLoad]]:
    """Load every new file of the chosen sources, in batches; return what each loaded file
    contributed (in path order)."""
    from reverse_etl.engine import memory_limit

    ensure_raw_schema(con)
    suppression = active_suppression(con)
    with memory_limit(con, MEMORY_LIMIT):
        return {
            name: _load_source(
                con,
                files[0].source if files else SOURCES[name],
                files,
                run_id,
                on_file,
                suppression,
            )
            for name, files in discover(landing_dir, sources).items()
        }


def load_landing_file(db_path: Path, landing_dir: Path) -> dict[str, list[FileLoad]]:
    """`load_landing` of every source into the warehouse file at `db_path` (opened, then
    closed): for callers that hold no connection (test set-ups, the Spark check)."""
    con = connect(db_path)
    try:
        return load_landing(con, landing_dir)
    finally:
        con.close()
