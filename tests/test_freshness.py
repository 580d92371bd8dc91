"""Freshness checks on the sources judge when each source's newest landing file was loaded."""

from __future__ import annotations

import time

import dagster as dg

from omni360.contract import SOURCES
from orchestration.freshness import SOURCE_MAX_AGE, source_freshness_checks
from orchestration.ingestion import last_update_metadata


def _evaluate(loaded_at: dict[str, float]) -> dict[str, dg.AssetCheckSeverity | None]:
    """Record a materialization per source as the ingestion asset does, then run the checks."""
    raw = [dg.AssetSpec(["raw", name]) for name in SOURCES]
    job = dg.define_asset_job(
        "freshness", selection=dg.AssetSelection.checks(*source_freshness_checks)
    )
    defs = dg.Definitions(assets=raw, asset_checks=source_freshness_checks, jobs=[job])
    with dg.DagsterInstance.ephemeral() as instance:
        for name, timestamp in loaded_at.items():
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))
            instance.report_runless_asset_event(
                dg.AssetMaterialization(["raw", name], metadata=last_update_metadata(stamp))
            )
        result = defs.resolve_job_def("freshness").execute_in_process(instance=instance)
    assert result.success
    verdicts: dict[str, dg.AssetCheckSeverity | None] = {}
    for evaluation in result.get_asset_check_evaluations():
        verdicts[evaluation.asset_key.path[1]] = None if evaluation.passed else evaluation.severity
    return verdicts


def test_a_source_without_a_new_file_for_a_day_warns_and_the_others_pass() -> None:
    now = time.time()
    stale = now - SOURCE_MAX_AGE.total_seconds() - 3600
    loaded = {name: now - 600 for name in SOURCES} | {"orders": stale}
    verdicts = _evaluate(loaded)
    assert verdicts["orders"] == dg.AssetCheckSeverity.WARN
    assert all(verdicts[name] is None for name in SOURCES if name != "orders")
