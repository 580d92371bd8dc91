"""The KPI dashboard as a Dagster asset, built after the marts and the syncs it charts."""

from pathlib import Path

import dagster as dg

from omni360.dashboard.location import dashboard_dir, dashboard_url
from omni360.dashboard.page import DASHBOARD_FILE, build_dashboard
from orchestration.dbt import latest_kpi_metadata
from orchestration.resources import Warehouse
from orchestration.syncs import sync_key
from reverse_etl.config import load_syncs

OWNER = "team:analytics-engineering"
DASHBOARD = dg.AssetKey(["reports", "kpi_dashboard"])
MARTS = [
    "fct_kpis",
    "fct_funnel",
    "fct_touchpoints",
    "fct_cross_channel_metrics",
    "fct_attribution_comparison",
    "fct_top_paths",
    "fct_retention_cohorts",
    "dim_customers",
    "fct_identity_audit",
]


def build_dashboard_asset() -> dg.AssetsDefinition:
    syncs = [sync_key(spec) for spec in load_syncs()]

    @dg.asset(
        key=DASHBOARD,
        deps=[dg.AssetKey(["marts", name]) for name in MARTS] + syncs,
        group_name="reports",
        owners=[OWNER],
        kinds={"plotly", "html"},
        pool="duckdb",
        description=(
            "The stakeholders' KPI dashboard: one self-contained HTML page (Plotly) with KPIs "
            "against their targets, the funnel by channel, channel mix and switching, "
            "attribution models side by side, top journeys, retention cohorts, multichannel "
            "against single-channel customers, identity resolution and sync health. Open it "
            "from the `dashboard` link (served by `omni360 ui` or `omni360 dashboard --serve`) "
            "or from the file; the next run replaces it in one rename."
        ),
    )
    def kpi_dashboard(
        context: dg.AssetExecutionContext, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        db_path = Path(warehouse.db_path)
        folder = dashboard_dir(db_path)
        with warehouse.connection(read_only=True) as con:
            dashboard = build_dashboard(con, folder, source=db_path.name)
            kpis = latest_kpi_metadata(con)
        if dashboard.empty:
            context.log.warning(f"charts with no data yet: {', '.join(dashboard.empty)}")
        return dg.MaterializeResult(
            metadata={
                "dashboard": dg.MetadataValue.url(dashboard_url()),
                "file": dg.MetadataValue.path(str(folder / DASHBOARD_FILE)),
                "charts": len(dashboard.charts),
                "charts without data": ", ".join(dashboard.empty) or "none",
                **kpis,
            }
        )

    return kpi_dashboard
