"""Ingestion assets: each landing-zone folder feeds one table of the `raw` schema."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from omni360.contract import SOURCES
from omni360.ingestion.loader import FileLoad, load_landing
from omni360.ingestion.report import source_totals
from orchestration.resources import Warehouse

OWNER = "team:data-platform"

landing_specs = [
    dg.AssetSpec(
        ["landing", name],
        description=f"Files dropped in the landing zone's `{name}/` folder. {source.description}",
        group_name="landing_zone",
        owners=[OWNER],
        kinds={"file"},
    )
    for name, source in SOURCES.items()
]

raw_specs = [
    dg.AssetSpec(
        ["raw", name],
        deps=[["landing", name]],
        description=f"`raw.{name}`: contract-valid rows of the landing files, as delivered. "
        f"{source.description}",
        group_name="ingestion",
        owners=[OWNER],
        kinds={"duckdb"},
        skippable=True,
    )
    for name, source in SOURCES.items()
]

reconcile_checks = [
    dg.AssetCheckSpec(
        "rows_reconcile",
        asset=["raw", name],
        description="For every file loaded so far: rows read = loaded + quarantined + "
        "duplicates, and no file is left unreadable.",
    )
    for name in SOURCES
]


def _file_table(loads: list[FileLoad]) -> dg.MetadataValue:
    lines = ["| file | read | loaded | quarantined | duplicates |", "|---|---:|---:|---:|---:|"]
    lines += [
        f"| {x.file} | {x.rows_read} | {x.rows_loaded} | {x.rows_quarantined} | "
        f"{x.rows_duplicate} |"
        if x.status == "loaded"
        else f"| {x.file} | unreadable: {x.error} | | | |"
        for x in loads
    ]
    return dg.MetadataValue.md("\n".join(lines))


def last_update_metadata(last_loaded_at: str | None) -> dict[str, dg.TimestampMetadataValue]:
    """When the newest file of the source was loaded: what the freshness checks judge."""
    if last_loaded_at is None:
        return {}
    loaded = datetime.fromisoformat(last_loaded_at)
    if loaded.tzinfo is None:
        loaded = loaded.replace(tzinfo=UTC)
    return {"dagster/last_updated_timestamp": dg.MetadataValue.timestamp(loaded)}


@dg.multi_asset(
    specs=raw_specs,
    check_specs=reconcile_checks,
    can_subset=True,
    pool="duckdb",
    name="raw_landing_tables",
)
def raw_landing_tables(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Load new landing files of the selected sources (each file atomically)."""
    selected = [key.path[1] for key in context.selected_asset_keys]

    def log(file: object, load: FileLoad | None) -> None:
        if load is not None and load.status != "loaded":
            context.log.warning(f"{load.file}: unreadable ({load.error})")

    landing_dir = Path(warehouse.landing_dir)
    with warehouse.connection() as con:
        for name in selected:  # one source at a time, so each is reported as soon as it is done
            loads = load_landing(con, landing_dir, [name], context.run.run_id, log)[name]
            this_run = [x for x in loads if x.status == "loaded"]
            totals = source_totals(con, name)
            yield dg.MaterializeResult(
                asset_key=["raw", name],
                metadata={
                    "files_loaded": len(this_run),
                    "files_unreadable": len(loads) - len(this_run),
                    "rows_read": sum(x.rows_read for x in this_run),
                    "rows_loaded": sum(x.rows_loaded for x in this_run),
                    "rows_quarantined": sum(x.rows_quarantined for x in this_run),
                    "rows_duplicate": sum(x.rows_duplicate for x in this_run),
                    "reconciles": all(x.reconciles for x in this_run),
                    "files": _file_table(loads),
                    "dagster/row_count": totals.table_rows,
                    "quarantine_rows_total": totals.quarantined_rows,
                    **last_update_metadata(totals.last_loaded_at),
                },
            )
            if dg.AssetCheckKey(dg.AssetKey(["raw", name]), "rows_reconcile") in (
                context.selected_asset_check_keys
            ):
                yield dg.AssetCheckResult(
                    asset_key=["raw", name],
                    check_name="rows_reconcile",
                    passed=totals.unreconciled_files == 0 and totals.unreadable_files == 0,
                    metadata={
                        "files_total": totals.files,
                        "unreconciled_files": totals.unreconciled_files,
                        "unreadable_files": totals.unreadable_files,
                    },
                )
