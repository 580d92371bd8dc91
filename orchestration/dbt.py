"""The dbt project as Dagster assets: every model, seed and snapshot; dbt tests as checks."""

import fcntl
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from omni360.kpis.latest import latest_kpis
from omni360.reporting.identity import read_identity_audit
from omni360.settings import PROJECT_ROOT
from orchestration.resources import Warehouse

dbt_project = DbtProject(project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT)
# The dbt installed beside this Python, whether or not its folder is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

DEFAULT_OWNER = "team:analytics-engineering"
# The op of the dbt assets (its run config: DbtBuildConfig).
DBT_ASSETS_NAME = "omni360_dbt_models"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)


def ensure_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than any project file.

    Runs whenever definitions load (also under `dagster dev`), so edited models show up
    without a manual step, and costs nothing when the manifest is current. Processes that load
    the definitions at once (test workers, a UI beside a run) take turns on a lock file: dbt
    writes the manifest in place, and one must not read it half-written by another.
    """
    manifest = dbt_project.manifest_path
    watched = [PROJECT_ROOT / "dbt_project.yml"] + [
        path
        for folder in ("models", "macros", "seeds")
        for path in (PROJECT_ROOT / folder).rglob("*")
        if path.is_file()
    ]
    newest = max(path.stat().st_mtime for path in watched)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with (manifest.parent / ".manifest.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < newest:
            dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()


class Omni360Translator(DagsterDbtTranslator):
    """Groups follow the project's layers (folders); owners come from `meta.owner`."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "seeds"
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        owner = dbt_resource_props.get("meta", {}).get("owner")
        return [owner] if owner else [DEFAULT_OWNER]


IDENTITY_AUDIT = dg.AssetKey(["marts", "fct_identity_audit"])
KPIS = dg.AssetKey(["marts", "fct_kpis"])


def stop_if_running(process: subprocess.Popen, grace_seconds: float = 10) -> None:
    """End a dbt process the step no longer reads (the step failed mid-stream).

    Left running, it would keep the warehouse's single-writer lock after the run has failed.
    """
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def identity_audit_metadata(warehouse: Warehouse) -> dict[str, Any]:
    with warehouse.connection(read_only=True) as con:
        audit = read_identity_audit(con)
    return {
        "customers": audit.customers,
        "customers known by a personal identifier": audit.known_customers,
        "data integration rate": dg.MetadataValue.float(round(audit.integration_rate, 4)),
        "data integration rate by source": dg.MetadataValue.json(
            {k: round(v, 4) for k, v in audit.integration_by_source.items()}
        ),
        "customers by size": dg.MetadataValue.md(audit.size_table()),
        "largest customer (identifiers)": audit.largest_customer_size,
        "shared identifiers": audit.shared_identifiers,
        "suppressed links": audit.suppressed_links,
        "customer id changes": dg.MetadataValue.json(audit.id_changes),
        "customers over a type's limit": dg.MetadataValue.json(audit.over_limit),
    }


def latest_kpi_metadata(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Each KPI's latest monthly value as a float, so Dagster plots it run over run."""
    latest = latest_kpis(con)
    metadata: dict[str, Any] = {
        f"kpi/{kpi.kpi}": dg.MetadataValue.float(round(kpi.value, 4)) for kpi in latest
    }
    if latest:
        metadata["kpi month"] = str(max(kpi.month for kpi in latest))
    return metadata


def kpi_metadata(warehouse: Warehouse) -> dict[str, Any]:
    with warehouse.connection(read_only=True) as con:
        return latest_kpi_metadata(con)


READ_BACK = {IDENTITY_AUDIT: identity_audit_metadata, KPIS: kpi_metadata}


def _event_key(event: Any, assets: dg.AssetsDefinition) -> dg.AssetKey | None:
    if isinstance(event, dg.Output):
        return assets.keys_by_output_name.get(event.output_name)
    return getattr(event, "asset_key", None)


def with_read_back_metadata(
    events: Iterator[Any], assets: dg.AssetsDefinition, warehouse: Warehouse
) -> Iterator[Any]:
    """Pass dbt's events on; hold those of the marts in READ_BACK until dbt has finished.

    The warehouse takes one writer, and dbt holds it while it runs: figures read back from
    a mart (the identity audit, the latest KPIs) are attached to its materialization once the
    build is over.
    """
    held, held_keys = [], set()
    for event in events:
        key = _event_key(event, assets)
        # A mart downstream of a held one is held too: outputs keep their graph order.
        if key in READ_BACK or (key is not None and assets.asset_deps.get(key, set()) & held_keys):
            held.append(event)
            if key is not None:
                held_keys.add(key)
        else:
            yield event
    for event in held:
        reader = READ_BACK.get(_event_key(event, assets))
        if reader is not None and isinstance(event, dg.Output):
            event = event.with_metadata({**event.metadata, **reader(warehouse)})
        yield event


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt assets (the Dagster launchpad shows it)."""

    full_refresh: bool = False  # rebuild the incremental models from raw (`--full-refresh`)


def build_dbt_assets() -> dg.AssetsDefinition:
    ensure_manifest()

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=Omni360Translator(),
        pool="duckdb",
        name=DBT_ASSETS_NAME,
    )
    def omni360_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: Warehouse,
        config: DbtBuildConfig,
    ) -> Iterator[Any]:
        """`dbt build` of the selected models: seeds, models and their tests, in order."""
        args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
        invocation = dbt.cli(args, context=context)
        try:
            yield from with_read_back_metadata(invocation.stream(), context.assets_def, warehouse)
        finally:
            stop_if_running(invocation.process)

    return omni360_dbt_models
