"""The omni360 code location: landing zone → raw tables → dbt layers → syncs to the channels,
one connected graph.

Every step writes to one DuckDB file, which admits a single writer, so steps run one after
another in one process (`in_process_executor`) and share the `duckdb` pool.
"""

from __future__ import annotations

import dagster as dg

from omni360.settings import Settings
from orchestration.automation import daily_schedule, landing_zone_sensor, pipeline_job
from orchestration.dashboard import build_dashboard_asset
from orchestration.dbt import build_dbt_assets, dbt_resource
from orchestration.freshness import source_freshness_checks, source_freshness_sensor
from orchestration.ingestion import landing_specs, raw_landing_tables
from orchestration.kpi_checks import build_kpi_checks
from orchestration.lifetime import customer_lifetime_value
from orchestration.resources import Warehouse
from orchestration.syncs import build_sync_assets, build_sync_schedules


def build_definitions(settings: Settings) -> dg.Definitions:
    settings.export()
    return dg.Definitions(
        assets=[
            *landing_specs,
            raw_landing_tables,
            build_dbt_assets(),
            customer_lifetime_value,
            *build_sync_assets(),
            build_dashboard_asset(),
        ],
        asset_checks=[build_kpi_checks(), *source_freshness_checks],
        jobs=[pipeline_job],
        schedules=[daily_schedule, *build_sync_schedules()],
        sensors=[landing_zone_sensor, source_freshness_sensor],
        resources={
            "warehouse": Warehouse(
                db_path=str(settings.db_path), landing_dir=str(settings.landing_dir)
            ),
            "dbt": dbt_resource(),
        },
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.resolve())
