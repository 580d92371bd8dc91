"""Cutting each source's rows into files, as upstream systems drop them, and writing them.

Regular files cover a day (or a week) of rows: `orders/orders_2026-10-01.csv`. Quirks:
- late files: rows that arrive days later, named for the drop day (`…_2026-10-04_late.csv`);
- overlapping exports: a file that repeats the last rows of the previous one;
- re-delivered files: a byte-identical copy under another name (`…_resend.csv`);
- a few files with an extra column the contract does not know;
- Parquet for some sources and days, gzip for app events and the first CRM export.

Duplicates are counted the way a loader meets them: files of a source are read in sorted
order of their path relative to the landing zone, and a row is a duplicate when its record
(same `_rec`; for events, same messageId) was already read, earlier in that file or in an
earlier file. Overlaps and copies only ever repeat rows into files of the same format.
"""

from __future__ import annotations

import shutil
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from omni360.contract import SOURCES, Kind
from omni360.generator.clock import Window
from omni360.generator.frames import Frame


@dataclass(frozen=True)
class Feed:
    """How one source's files are cut and written."""

    parts: tuple[str, ...] = ()  # file-name prefixes by `_part` (default: the source name)
    period: int = 1  # days per regular file
    parquet_from: float | None = None  # share of the window after which files are Parquet
    gzip_parts: tuple[str, ...] = ()  # prefixes written gzipped
    gzip_first: bool = False  # the first (backfill) file is gzipped
    overlap: float = 0.0  # chance that a file repeats the tail of the previous one
    copies: int = 0  # regular files delivered twice
    extra: tuple[str, str] | None = None  # (column, SQL) added to a couple of files


FEEDS = {
    "events": Feed(parts=("web", "app"), gzip_parts=("app",), overlap=0.1, copies=1),
    "orders": Feed(
        overlap=0.15, copies=1, extra=("promo_code", "case when total % 7 = 0 then 'AUTUMN10' end")
    ),
    "order_items": Feed(overlap=0.1),
    "crm_contacts": Feed(gzip_first=True, overlap=0.1),
    "message_events": Feed(
        parquet_from=0.65,
        overlap=0.1,
        copies=1,
        extra=(
            "provider",
            "['esputnik', 'turbosms', 'viber_business', 'telegram_bot', 'twilio', "
            "'onesignal', 'firebase', 'braze', 'firebase'][channel + 1]",
        ),
    ),
    "support_tickets": Feed(period=7, copies=1),
    "support_interactions": Feed(period=7),
    "survey_responses": Feed(period=7, extra=("survey_tool", "'typeform'")),
    "consents": Feed(period=7, overlap=0.2, extra=("consent_text_version", "'v3.2'")),
    "marketing_spend": Feed(period=7, copies=1),
    "products": Feed(parquet_from=0.0),
    "stores": Feed(copies=1),
}
EXTRA_FILES = 2
GZIP_LEVEL = 3
RENDER_ROWS = 200_000  # rows rendered to text per query (and held in memory by each worker)
WORKERS = 2


@dataclass
class PlannedFile:
    path: str  # relative to the landing zone, forward slashes
    rows: np.ndarray  # row indices of the frame, in file order
    fmt: str  # csv | parquet | jsonl
    gzip: bool = False
    regular: bool = True  # a day's (or week's) own file, not a late drop
    extra: bool = False
    copy_of: str | None = None
    overlapped: bool = False  # repeats rows of, or is repeated by, another file
    duplicates: int = 0  # rows repeating a record read before (see the module docstring)


def _column(frame: Frame, name: str) -> np.ndarray:
    """An optional small integer column of the frame's rows, zeros when absent."""
    if name in frame.rows.column_names:
        return np.asarray(frame.rows.column(name).to_numpy(), dtype=np.int32)
    return np.zeros(frame.rows.num_rows, dtype=np.int32)


def records(frame: Frame) -> np.ndarray:
    """The record identity of every row (rows sharing one are the same record)."""
    if "_rec" in frame.rows.column_names:
        return np.asarray(frame.rows.column("_rec").to_numpy())
    return np.arange(frame.rows.num_rows)


def plan_files(frame: Frame, window: Window, rng: np.random.Generator) -> list[PlannedFile]:
    """Which rows go to which file; files come back sorted by path."""
    feed = FEEDS[frame.source]
    source = frame.source
    parts = feed.parts or (source,)
    if "_day" in frame.rows.column_names:
        day = _column(frame, "_day")
    else:
        day = window.day_of(frame.rows.column("_ts").to_numpy()).astype(np.int32)
    part = _column(frame, "_part")
    drop = day + _column(frame, "_delay")
    late = (drop > day) & (drop < window.days)
    period = day // feed.period
    key = (part * 2 + late) * 1_000_000 + np.where(late, drop, period)
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    groups = np.split(order, bounds) if len(order) else [order]
    files = []
    for rows in groups:
        k = int(key[rows[0]]) if len(rows) else 0
        prefix = parts[k // 2_000_000]
        is_late = bool(k // 1_000_000 % 2)
        file_day = k % 1_000_000 * (1 if is_late else feed.period)
        fmt = "csv"
        if source == "events":
            fmt = "jsonl"
        elif feed.parquet_from is not None and file_day >= feed.parquet_from * window.days:
            fmt = "parquet"
        gzip = prefix in feed.gzip_parts or (feed.gzip_first and k == 0)
        suffix = "_late" if is_late else ""
        ext = fmt + (".gz" if gzip else "")
        path = f"{source}/{prefix}_{window.date_text(file_day)}{suffix}.{ext}"
        files.append(PlannedFile(path, rows, fmt, gzip, regular=not is_late))
    files.sort(key=lambda f: f.path)
    _overlap(files, feed, rng)
    candidates = [f for f in files if f.regular and not f.overlapped and f.rows.size]
    if feed.extra and candidates:
        for i in rng.choice(len(candidates), min(EXTRA_FILES, len(candidates)), replace=False):
            candidates[i].extra = True
    plain = [f for f in files if f.regular and not f.extra and f.rows.size]
    for i in rng.choice(len(plain), min(feed.copies, len(plain)), replace=False):
        original = plain[i]
        stem, ext = original.path.split(".", 1)
        files.append(
            PlannedFile(
                f"{stem}_resend.{ext}",
                original.rows,
                original.fmt,
                original.gzip,
                copy_of=original.path,
            )
        )
    files.sort(key=lambda f: f.path)
    _count_duplicates(files, records(frame))
    return files


def _overlap(files: list[PlannedFile], feed: Feed, rng: np.random.Generator) -> None:
    """Some regular files start with the last rows of the previous one (same part, format)."""
    previous: dict[str, PlannedFile] = {}
    for f in files:
        if not f.regular:
            continue
        prefix = f.path.rsplit("_", 1)[0]
        before = previous.get(prefix)
        previous[prefix] = f
        if before is None or before.fmt != f.fmt or before.gzip != f.gzip or not before.rows.size:
            continue
        if rng.random() < feed.overlap:
            size = len(before.rows)
            tail = max(1, int(size * rng.uniform(0.005, 0.03)))
            f.rows = np.concatenate([before.rows[size - tail :], f.rows])
            f.overlapped = before.overlapped = True


def _count_duplicates(files: list[PlannedFile], rec: np.ndarray) -> None:
    """Set each file's number of rows repeating a record read before (files in path order)."""
    seen = np.zeros(int(rec.max()) + 1 if len(rec) else 0, dtype=bool)
    for f in files:
        ids = rec[f.rows]
        new = ids[~seen[ids]]
        f.duplicates = len(ids) - len(np.unique(new))
        seen[new] = True


def _typed(source: str, extra: str | None) -> str:
    """Contract columns typed for Parquet (timestamps, dates, decimals, integers)."""
    casts = []
    for column in SOURCES[source].columns:
        name = column.name
        if column.kind is Kind.TIMESTAMP:
            casts.append(f"cast({name} as timestamptz) as {name}")
        elif column.kind is Kind.DATE:
            casts.append(f"cast({name} as date) as {name}")
        elif column.kind is Kind.DECIMAL:
            scale = 4 if name == "cost" else 2
            casts.append(f"cast({name} as decimal(18, {scale})) as {name}")
        elif column.kind is Kind.INTEGER:
            casts.append(f"cast({name} as bigint) as {name}")
        else:
            casts.append(name)
    return ", ".join(casts + ([extra] if extra else []))


def _text_chunks(column: pa.ChunkedArray) -> list[memoryview]:
    """The bytes of a string column's values, concatenated, without copying them."""
    out = []
    for chunk in column.chunks:
        if not pa.types.is_large_string(chunk.type):
            chunk = chunk.cast(pa.large_string())
        if not len(chunk):
            continue
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)
        first, last = offsets[chunk.offset], offsets[chunk.offset + len(chunk)]
        out.append(memoryview(chunk.buffers()[2])[first:last])
    return out


def _write_lines(path: Path, chunks: list[memoryview], gzip: bool) -> None:
    with path.open("wb") as handle:
        if gzip:
            packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
            for chunk in chunks:
                handle.write(packer.compress(chunk))
            handle.write(packer.flush())
        else:
            for chunk in chunks:
                handle.write(chunk)


def _chunks(files: list[PlannedFile], limit: int) -> list[list[PlannedFile]]:
    """Consecutive files grouped so that each group renders at most ~`limit` rows."""
    groups: list[list[PlannedFile]] = []
    size = 0
    for f in files:
        if not groups or (groups[-1] and size + len(f.rows) > limit):
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += len(f.rows)
    return groups


def _rows_of(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """The table's rows at these positions (a zero-copy slice when they are consecutive)."""
    if (
        len(positions)
        and positions[-1] - positions[0] == len(positions) - 1
        and (np.all(np.diff(positions) == 1))
    ):
        return table.slice(int(positions[0]), len(positions))
    return table.take(pa.array(positions, pa.int64()))


def _write_group(
    frame: Frame,
    group: list[PlannedFile],
    landing_dir: Path,
    con: duckdb.DuckDBPyConnection,
    name: str,
) -> None:
    """Render the rows of a group of files with one query, then write each file.

    `name` is unique to the group: objects registered on cursors of one connection are
    visible to all of them.
    """
    feed = FEEDS[frame.source]
    columns = [c.name for c in SOURCES[frame.source].columns] or ["line"]
    extra = f", {feed.extra[1]} as {feed.extra[0]}" if feed.extra else ""
    rows = np.sort(np.concatenate([f.rows for f in group]))
    rows = rows[np.concatenate([[True], rows[1:] != rows[:-1]])] if len(rows) else rows
    batch = frame.rows.take(pa.array(rows, pa.int64()))
    batch = batch.append_column("_rec_id", pa.array(records(frame)[rows]))
    if frame.prepare:
        batch = frame.prepare(batch)
    # Query results come back in no particular order: `_pos` puts them back in row order.
    batch = batch.append_column("_pos", pa.array(np.arange(len(rows))))
    con.register(name, batch)
    query = f"select {frame.select}{extra} from {name} order by _pos"
    rendered = con.sql(query).to_arrow_table().combine_chunks()
    con.unregister(name)
    del batch
    for f in group:
        part = _rows_of(rendered, np.searchsorted(rows, f.rows))
        target = landing_dir / f.path
        if f.fmt == "jsonl":
            _write_lines(target, _text_chunks(part.column("line")), f.gzip)
            continue
        wanted = columns + ([feed.extra[0]] if f.extra and feed.extra else [])
        part = part.select(wanted).append_column("_line", pa.array(np.arange(part.num_rows)))
        con.register(f"{name}_part", part)
        if f.fmt == "parquet":
            typed = _typed(frame.source, feed.extra[0] if f.extra and feed.extra else None)
            query, options = f"select {typed} from {name}_part", "format parquet, compression zstd"
        else:
            query = f"select * exclude (_line) from {name}_part"
            options = "format csv, header" + (", compression gzip" if f.gzip else "")
        con.execute(f"copy ({query} order by _line) to '{target}' ({options})")
        con.unregister(f"{name}_part")


def write_files(
    frame: Frame,
    files: list[PlannedFile],
    landing_dir: Path,
    con: duckdb.DuckDBPyConnection,
    on_file: Callable[[], None],
) -> None:
    """Write the planned files of one frame (copies after their originals).

    Groups of files are rendered and written by two workers, each with its own cursor;
    a file's bytes depend only on its rows, so the order of work does not matter.
    """
    (landing_dir / frame.source).mkdir(parents=True, exist_ok=True)
    groups = _chunks([f for f in files if not f.copy_of], RENDER_ROWS)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        jobs = [
            pool.submit(_write_group, frame, group, landing_dir, con.cursor(), f"rows_{i}")
            for i, group in enumerate(groups)
        ]
        for group, job in zip(groups, jobs, strict=True):
            job.result()
            for _ in group:
                on_file()
    for f in files:
        if f.copy_of:
            shutil.copyfile(landing_dir / f.copy_of, landing_dir / f.path)
            on_file()
