"""Reading a warehouse file after a load, a kill or a second process: is every file whole?"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from omni360.contract import SOURCES

Counts = tuple[int, int, int, int]  # rows read, loaded, quarantined, duplicate


@dataclass(frozen=True)
class Warehouse:
    """What a warehouse file holds, as far as the load is concerned."""

    log_lines: int
    loaded: dict[str, Counts]  # source file -> counts of its one 'loaded' log line
    table_rows: dict[str, int]  # raw table (and `_quarantine`) -> rows
    rows: dict[str, list[tuple]]  # raw table (and `_quarantine`) -> its records, sorted
    # (empty unless read with `records`)


def _raw_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'"
        ).fetchall()
    }


def _rows_by_load(con: duckdb.DuckDBPyConnection, tables: set[str]) -> Counter:
    """Rows per (source, file, load id) in the raw tables, and in the quarantine."""
    rows: Counter = Counter()
    for source in sorted(tables & set(SOURCES)):
        for file, load_id, n in con.execute(
            f"select _source_file, _load_id, count(*) from raw.{source} group by all"
        ).fetchall():
            rows[("raw", source, file, load_id)] = n
    if "_quarantine" in tables:
        for source, file, load_id, n in con.execute(
            "select source, source_file, load_id, count(*) from raw._quarantine group by all"
        ).fetchall():
            rows[("quarantine", source, file, load_id)] = n
    return rows


def _table_rows(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, int]:
    """Rows of every raw table and of the quarantine, hashing every row: each table is read
    whole, every block of it."""
    return {
        table: con.execute(f"select count(*), bit_xor(hash(t)) from raw.{table} as t").fetchone()[0]
        for table in sorted(tables & {*SOURCES, "_quarantine"})
    }


def _records(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, list[tuple]]:
    """Every table's records without what differs between two loads (load id, load time)."""
    rows = {
        source: con.execute(
            f"select _source_file, _source_line, _record_hash from raw.{source} order by all"
        ).fetchall()
        for source in sorted(tables & set(SOURCES))
    }
    if "_quarantine" in tables:
        rows["_quarantine"] = con.execute(
            "select source, source_file, source_line, reason, raw_text "
            "from raw._quarantine order by all"
        ).fetchall()
    return rows


def read_whole_files(db: Path, records: bool = True) -> Warehouse:
    """Open the warehouse and check that every file in it is whole; with `records`, keep
    every record (to compare two warehouses).

    Proven for the file as found: it opens and every table reads whole; each load-log line
    reconciles (read = loaded + quarantined + duplicates); no file has two 'loaded' lines;
    a 'loaded' line's file has exactly its rows_loaded rows in the raw table and its
    rows_quarantined rows in the quarantine, under its load id; no raw or quarantine row
    belongs to anything but a 'loaded' line.
    """
    if not db.exists():
        return Warehouse(0, {}, {}, {})
    with duckdb.connect(str(db), read_only=True) as con:
        tables = _raw_tables(con)
        lines = (
            con.execute(
                "select load_id, source, source_file, status, rows_read, rows_loaded, "
                "rows_quarantined, rows_duplicate from raw._load_log"
            ).fetchall()
            if "_load_log" in tables
            else []
        )
        rows = _rows_by_load(con, tables)
        table_rows = _table_rows(con, tables)
        kept = _records(con, tables) if records else {}
    for load_id, _, file, _, read, loaded, quarantined, duplicate in lines:
        assert read == loaded + quarantined + duplicate, (file, load_id)
    loaded_lines = [line for line in lines if line[3] == "loaded"]
    twice = [f for f, n in Counter(line[2] for line in loaded_lines).items() if n > 1]
    assert not twice, f"loaded twice: {twice}"
    expected: Counter = Counter()
    for load_id, source, file, _, _, loaded, quarantined, _ in loaded_lines:
        expected[("raw", source, file, load_id)] = loaded
        expected[("quarantine", source, file, load_id)] = quarantined
    orphans = {key: n for key, n in rows.items() if key not in expected}
    assert not orphans, f"rows of no loaded file (a partial load): {orphans}"
    wrong = {key: (rows[key], n) for key, n in expected.items() if rows[key] != n}
    assert not wrong, f"(rows found, rows logged) differ: {wrong}"
    return Warehouse(
        len(lines),
        {line[2]: tuple(line[4:8]) for line in loaded_lines},
        table_rows,
        kept,
    )


def same_load(found: Warehouse, reference: Warehouse) -> None:
    """The warehouse holds what the uninterrupted reference load wrote: the same files with
    the same counts, the same rows in every raw table and the same quarantine."""
    assert found.loaded == reference.loaded
    assert found.table_rows == reference.table_rows
    assert found.rows == reference.rows
