"""What has been loaded so far: per-source totals from the load log and the quarantine."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from omni360.contract import SOURCES
from omni360.ingestion.schema import LOAD_LOG_TABLE, QUARANTINE_TABLE, RAW_SCHEMA


@dataclass(frozen=True)
class SourceTotals:
    source: str
    files: int
    table_rows: int
    rows_read: int
    rows_loaded: int
    rows_duplicate: int
    quarantined_rows: int
    unreconciled_files: int
    unreadable_files: int
    last_loaded_at: str | None


def source_totals(con: duckdb.DuckDBPyConnection, source: str) -> SourceTotals:
    """Totals for one source; a file counts as unreadable while its latest attempt failed."""
    row = con.execute(
        f"""
        with latest as (
            select * from {LOAD_LOG_TABLE} where source = $source
            qualify row_number() over (partition by source_file order by started_at desc) = 1
        ),
        loaded as (select * from {LOAD_LOG_TABLE} where source = $source and status = 'loaded')
        select
            (select count(distinct source_file) from loaded),
            (select count(*) from {RAW_SCHEMA}.{source}),
            (select coalesce(sum(rows_read), 0) from loaded),
            (select coalesce(sum(rows_loaded), 0) from loaded),
            (select coalesce(sum(rows_duplicate), 0) from loaded),
            (select count(*) from {QUARANTINE_TABLE} where source = $source),
            (select count(*) from loaded
             where rows_read <> rows_loaded + rows_quarantined + rows_duplicate),
            (select count(*) from latest where status = 'failed'),
            (select cast(max(finished_at) as varchar) from loaded)
        """,
        {"source": source},
    ).fetchone()
    return SourceTotals(source, *row)


def all_totals(con: duckdb.DuckDBPyConnection) -> list[SourceTotals]:
    return [source_totals(con, name) for name in SOURCES]


def quarantine_reasons(con: duckdb.DuckDBPyConnection, limit: int = 10) -> list[tuple]:
    """The most frequent quarantine reasons: (source, reason, rows, example file:line)."""
    return con.execute(
        f"""
        select source, reason, count(*) as n_rows,
               min(source_file || ':' || coalesce(cast(source_line as varchar), '?'))
        from {QUARANTINE_TABLE}
        group by source, reason
        order by n_rows desc, source, reason
        limit ?
        """,
        [limit],
    ).fetchall()
