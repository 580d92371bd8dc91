"""Reverse-ETL syncs as Dagster assets: one per sync, downstream of its audience model.

The sync engine (reverse_etl/) does the work; this module only wires each sync declared in
`reverse_etl/syncs.yml` into the graph, with the run's counts as metadata, a check that
every record was confirmed, and one schedule per distinct cron of the syncs.
"""

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from orchestration.dbt import dbt_project, ensure_manifest
from orchestration.resources import Warehouse
from reverse_etl.cdc import PERMISSIONS_MODEL
from reverse_etl.config import SyncSpec, load_syncs
from reverse_etl.engine import run_sync

OWNER = "team:crm"
GROUP = "syncs"
CONFIRMED_CHECK = "all_records_confirmed"


@cache
def _model_keys() -> dict[str, dg.AssetKey]:
    """Asset keys of the dbt models by name (the keys dagster-dbt gives them)."""
    ensure_manifest()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    translator = DagsterDbtTranslator()
    return {
        node["name"]: translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }


def source_key(spec: SyncSpec) -> dg.AssetKey:
    """The asset the sync reads: its dbt model, else the `schema.table` it names."""
    name = spec.source.split(".")[-1]
    key = _model_keys().get(name)
    return key or dg.AssetKey(spec.source.split("."))


def upstream_keys(spec: SyncSpec) -> list[dg.AssetKey]:
    """The audience the sync reads and, when it gates on consent, the permissions model (so
    the gate is never older than the audience)."""
    keys = [source_key(spec)]
    if spec.consent_gate:
        keys.append(_model_keys().get(PERMISSIONS_MODEL, dg.AssetKey(PERMISSIONS_MODEL)))
    return keys


def sync_key(spec: SyncSpec) -> dg.AssetKey:
    return dg.AssetKey([GROUP, spec.name])


def _description(spec: SyncSpec) -> str:
    summary = spec.description or f"Sync of `{spec.source}` to {spec.destination_kind}."
    return (
        f"{summary}\n\nMode `{spec.mode.value}`, key `{', '.join(spec.primary_key)}`, "
        f"schedule `{spec.schedule}`; only added, changed and (mirror) removed records are "
        "sent, and the snapshot advances only for what the destination confirmed."
    )


def _sync_asset(spec: SyncSpec) -> dg.AssetsDefinition:
    key = sync_key(spec)

    @dg.asset(
        key=key,
        deps=upstream_keys(spec),
        group_name=GROUP,
        owners=[OWNER],
        kinds={spec.destination_kind, "python"},
        pool="duckdb",
        description=_description(spec),
        metadata={
            "destination": spec.destination_kind,
            "mode": spec.mode.value,
            "primary key": ", ".join(spec.primary_key),
            "fields": dg.MetadataValue.json(dict(spec.fields)),
            "schedule": spec.schedule,
        },
        check_specs=[
            dg.AssetCheckSpec(
                CONFIRMED_CHECK,
                asset=key,
                description="Every record the run sent was confirmed by the destination "
                "(the rest stay stored and are retried next run).",
            )
        ],
    )
    def sync_asset(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.MaterializeResult]:
        def progress(done: int, total: int) -> None:
            if done == total or done % 10_000 < 100:
                context.log.info(f"{spec.name}: {done:,}/{total:,} records delivered")

        with warehouse.connection() as con:
            result = run_sync(con, spec, progress=progress)
        metadata: dict[str, Any] = {
            name: value for name, value in result.as_metadata().items() if value is not None
        }
        metadata["dagster/row_count"] = result.counts.source_rows if result.counts else 0
        if result.error:
            context.log.error(f"{spec.name}: {result.error}")
        yield dg.MaterializeResult(
            metadata=metadata,
            check_results=[
                dg.AssetCheckResult(
                    check_name=CONFIRMED_CHECK,
                    passed=result.failed == 0 and result.error is None,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "failed records": result.failed,
                        "error": result.error or "",
                    },
                )
            ],
        )

    return sync_asset


def build_sync_assets(syncs: list[SyncSpec] | None = None) -> list[dg.AssetsDefinition]:
    return [_sync_asset(spec) for spec in (load_syncs() if syncs is None else syncs)]


def build_sync_schedules(syncs: list[SyncSpec] | None = None) -> list[dg.ScheduleDefinition]:
    """One schedule per distinct cron of the syncs (the project's syncs run hourly)."""
    syncs = load_syncs() if syncs is None else syncs
    by_cron: dict[str, list[SyncSpec]] = {}
    for spec in syncs:
        by_cron.setdefault(spec.schedule, []).append(spec)
    schedules = []
    for index, (cron, specs) in enumerate(sorted(by_cron.items())):
        name = "syncs_hourly" if cron == "0 * * * *" else f"syncs_schedule_{index + 1}"
        job = dg.define_asset_job(
            name,
            selection=dg.AssetSelection.assets(*[sync_key(spec) for spec in specs]),
            description=f"Syncs on `{cron}`: {', '.join(spec.name for spec in specs)}.",
        )
        schedules.append(
            dg.ScheduleDefinition(
                name=name,
                job=job,
                cron_schedule=cron,
                execution_timezone="UTC",
                default_status=dg.DefaultScheduleStatus.STOPPED,
                description=f"The syncs scheduled `{cron}` ({len(specs)}).",
            )
        )
    return schedules
