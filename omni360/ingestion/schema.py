"""DDL of the `raw` schema: one table per landing source, a quarantine and a load log."""

from __future__ import annotations

import duckdb

from omni360.contract import SOURCES, Source, raw_columns

RAW_SCHEMA = "raw"
QUARANTINE_TABLE = f"{RAW_SCHEMA}._quarantine"
LOAD_LOG_TABLE = f"{RAW_SCHEMA}._load_log"

_METADATA_TYPES = {"_source_line": "BIGINT", "_loaded_at": "TIMESTAMP"}


def raw_table(source: Source) -> str:
    return f"{RAW_SCHEMA}.{source.name}"


def _table_ddl(source: Source) -> str:
    cols = ",\n  ".join(
        f'"{name}" {_METADATA_TYPES.get(name, "VARCHAR")}' for name in raw_columns(source)
    )
    return f"create table if not exists {raw_table(source)} (\n  {cols}\n)"


QUARANTINE_DDL = f"""
create table if not exists {QUARANTINE_TABLE} (
  source varchar not null,
  source_file varchar not null,
  source_line bigint,
  raw_text varchar,
  reason varchar not null,
  load_id varchar not null,
  quarantined_at timestamp not null
)"""

LOAD_LOG_DDL = f"""
create table if not exists {LOAD_LOG_TABLE} (
  load_id varchar primary key,
  run_id varchar,
  source varchar not null,
  source_file varchar not null,
  file_sha256 varchar,
  file_bytes bigint,
  file_mtime_ns bigint,
  status varchar not null,
  rows_read bigint not null,
  rows_loaded bigint not null,
  rows_quarantined bigint not null,
  rows_duplicate bigint not null,
  error varchar,
  started_at timestamp not null,
  finished_at timestamp not null
)"""


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and its tables when missing (idempotent)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for source in SOURCES.values():
        con.execute(_table_ddl(source))
    con.execute(QUARANTINE_DDL)
    con.execute(LOAD_LOG_DDL)
