"""Exporting the loaded `raw` tables of a DuckDB warehouse to Parquet, for Spark to read.

One folder per table (`<out>/<table>/data.parquet`), which the dbt macro
`register_raw_parquet` (run on the spark target) registers as a table of schema `raw`.
Columns keep their names and order; types Spark's Parquet reader does not take as they are
become ones it does (see `spark_readable`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from omni360.db import connect
from omni360.ingestion.schema import RAW_SCHEMA


@dataclass(frozen=True)
class ExportedTable:
    """One raw table written to Parquet."""

    name: str
    path: Path
    rows: int


def spark_readable(column: str, data_type: str) -> str:
    """The select expression of a column, cast when DuckDB's type has no Spark counterpart.

    JSON and UUID become text. Timestamps are written as instants (Parquet timestamps adjusted
    to UTC), which Spark reads as its `timestamp` type: a TIMESTAMPTZ as it is, a plain
    TIMESTAMP (UTC wall clock in this warehouse) as that instant in UTC; written without a
    zone, Spark would read them as `timestamp_ntz`. HUGEINT and UHUGEINT become decimal(38, 0);
    UBIGINT, whose values may not fit a signed bigint, becomes decimal(20, 0); other unsigned
    integers widen to the next signed type.
    """
    quoted = '"' + column.replace('"', '""') + '"'
    upper = data_type.upper()
    casts = {
        "JSON": "varchar",
        "UUID": "varchar",
        "HUGEINT": "decimal(38, 0)",
        "UHUGEINT": "decimal(38, 0)",
        "UBIGINT": "decimal(20, 0)",
        "UINTEGER": "bigint",
        "USMALLINT": "integer",
        "UTINYINT": "smallint",
        "TIME": "varchar",
        "INTERVAL": "varchar",
    }
    if upper in ("TIMESTAMP", "TIMESTAMP_US", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP_NS"):
        return f"timezone('UTC', cast({quoted} as timestamp)) as {quoted}"
    if upper in casts:
        return f"cast({quoted} as {casts[upper]}) as {quoted}"
    return quoted


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The loaded source tables of schema `raw` (not the loader's `_` bookkeeping tables)."""
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' and table_name not like '\\_%' "
        "escape '\\' order by table_name",
        [RAW_SCHEMA],
    ).fetchall()
    return [name for (name,) in rows]


def export_table(con: duckdb.DuckDBPyConnection, table: str, out_dir: Path) -> ExportedTable:
    """Write one raw table to `<out_dir>/<table>/data.parquet` (replacing the folder)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [RAW_SCHEMA, table],
    ).fetchall()
    select = ", ".join(spark_readable(name, data_type) for name, data_type in columns)
    folder = out_dir / table
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "data.parquet"
    escaped = str(path).replace("'", "''")
    con.execute(
        f'copy (select {select} from {RAW_SCHEMA}."{table}") '
        f"to '{escaped}' (format parquet, compression zstd)"
    )
    (rows,) = con.execute(f'select count(*) from {RAW_SCHEMA}."{table}"').fetchone() or (0,)
    return ExportedTable(table, folder, int(rows))


def export_raw(db_path: Path, out_dir: Path) -> list[ExportedTable]:
    """Export every loaded raw table of the warehouse at `db_path` under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    con = connect(db_path, read_only=True)
    try:
        return [export_table(con, table, out_dir) for table in raw_tables(con)]
    finally:
        con.close()
