"""Freshness checks on the sources: warn when a raw table has had no new landing file for a day.

A raw table's "last update" is when its newest landing file was loaded (the
`dagster/last_updated_timestamp` its materialization carries), not when the pipeline last ran,
so a run that found nothing new does not make a stale source look fresh.
"""

import warnings
from datetime import timedelta

import dagster as dg

from omni360.contract import SOURCES

SOURCE_MAX_AGE = timedelta(days=1)

# Dagster now prefers freshness policies evaluated by its daemon; these checks are kept because
# they are asset checks like every other (run from the UI, the sensor or a test, and recorded).
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.SupersessionWarning)
    source_freshness_checks = dg.build_last_update_freshness_checks(
        assets=[dg.AssetKey(["raw", name]) for name in SOURCES],
        lower_bound_delta=SOURCE_MAX_AGE,
        severity=dg.AssetCheckSeverity.WARN,
    )
    source_freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=source_freshness_checks,
        name="source_freshness",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
