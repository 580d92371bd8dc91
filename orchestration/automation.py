"""When omni360 runs: a daily schedule and a sensor on new landing files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import dagster as dg

from omni360.ingestion.discovery import LandingZoneError, discover
from orchestration.freshness import source_freshness_checks

pipeline_job = dg.define_asset_job(
    "omni360_pipeline",
    # Source freshness is judged on its own schedule (a sensor), not as a step of the run.
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*source_freshness_checks),
    description="Load new landing files, build and test every dbt model, sync the audiences "
    "to the channels and rebuild the KPI dashboard.",
)

daily_schedule = dg.ScheduleDefinition(
    name="omni360_daily",
    job=pipeline_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="The whole pipeline every morning at 06:00 UTC.",
)


def landing_fingerprint(landing_dir: Path) -> tuple[int, str]:
    """How many contract files the landing zone holds, and a digest of their names and sizes."""
    digest = hashlib.sha256()
    count = 0
    for files in discover(landing_dir).values():
        for file in files:
            digest.update(f"{file.relative}\0{file.size}\0{file.mtime_ns}\n".encode())
            count += 1
    return count, digest.hexdigest()


@dg.sensor(
    job=pipeline_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts the pipeline when files are added to (or re-dropped in) the landing zone.",
)
def landing_zone_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    landing_dir = Path(os.environ.get("LANDING_DIR", "data/landing")).resolve()
    try:
        count, digest = landing_fingerprint(landing_dir)
    except LandingZoneError as error:
        return dg.SensorResult(skip_reason=str(error))
    if digest == context.cursor or count == 0:
        return dg.SensorResult(skip_reason=f"no new files in {landing_dir}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=digest, tags={"omni360/landing_files": str(count)})],
        cursor=digest,
    )
