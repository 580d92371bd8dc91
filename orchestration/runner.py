"""Running the whole pipeline in-process (what `omni360 run` does), reporting progress."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg

from omni360.settings import Settings
from orchestration.automation import pipeline_job
from orchestration.dbt import DBT_ASSETS_NAME
from orchestration.definitions import build_definitions
from orchestration.instance import prepare_dagster_home
from orchestration.syncs import GROUP as SYNC_GROUP


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    success: bool
    materialized: int
    checks_passed: int
    checks_failed: int
    checks_warned: int
    failure: str | None


def run_pipeline(
    settings: Settings,
    run_id: str,
    on_asset: Callable[[int, int, str], None] | None = None,
    log_level: str = "WARNING",
    selection: Sequence[dg.AssetKey] | None = None,
    include_syncs: bool = True,
    full_refresh: bool = False,
) -> RunOutcome:
    """Materialize every asset of the pipeline job (or the selected ones) for these settings;
    without `include_syncs`, everything but the syncs to the channels; with `full_refresh`,
    the incremental dbt models are rebuilt from raw."""
    defs = build_definitions(settings)
    job = defs.resolve_job_def(pipeline_job.name)
    if not include_syncs:
        keys = selection or sorted(job.asset_layer.executable_asset_keys)
        selection = [key for key in keys if key.path[0] != SYNC_GROUP]
    total = len(selection) if selection else len(job.asset_layer.executable_asset_keys)
    counts = {"materialized": 0, "passed": 0, "failed": 0, "warned": 0}

    def listen(entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            counts["materialized"] += 1
            if on_asset:
                on_asset(counts["materialized"], total, event.asset_key.to_user_string())
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data
            if check.passed:
                counts["passed"] += 1
            elif check.severity == dg.AssetCheckSeverity.WARN:
                counts["warned"] += 1
            else:
                counts["failed"] += 1

    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if full_refresh:
        run_config["ops"] = {DBT_ASSETS_NAME: {"config": {"full_refresh": True}}}
    prepare_dagster_home()
    with dg.DagsterInstance.get() as instance:
        instance.add_event_listener(run_id, listen)
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            asset_selection=selection,
        )
        failure = None
        if not result.success:
            failed = [e for e in result.all_events if e.is_failure]
            failure = failed[0].message if failed else "see the run's logs"
    return RunOutcome(
        run_id=run_id,
        success=result.success,
        materialized=counts["materialized"],
        checks_passed=counts["passed"],
        checks_failed=counts["failed"],
        checks_warned=counts["warned"],
        failure=failure,
    )
