"""Build the dashboard from the warehouse and write it as one self-contained HTML file.

The file carries Plotly's JavaScript and every figure's data, so it opens from disk or any
static server with no connection to the warehouse: a stakeholder reading it never holds the
DuckDB file's lock, and the next run replaces it in one atomic rename.
"""

from __future__ import annotations

import html
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
from plotly.offline import get_plotlyjs

from omni360.dashboard import charts, queries
from omni360.reporting.identity import read_identity_audit

DASHBOARD_FILE = "index.html"
TOP_PATHS = 12


@dataclass(frozen=True)
class KpiTile:
    kpi: str
    unit: str
    month: str
    value: float
    target: float
    on_target: bool
    breached: bool


@dataclass(frozen=True)
class Dashboard:
    charts: list[charts.Chart]
    tiles: list[KpiTile]
    empty: list[str]  # titles of the charts with no data yet
    built_at: datetime


def _tiles(kpis: pd.DataFrame) -> list[KpiTile]:
    latest = kpis.sort_values("period_start").groupby("kpi").tail(1)
    tiles = []
    for row in latest.itertuples():
        higher = row.better == "higher"
        value = float(row.kpi_value)
        tiles.append(
            KpiTile(
                kpi=row.kpi,
                unit=row.unit,
                month=f"{row.period_start:%Y-%m}",
                value=value,
                target=float(row.target_12m),
                on_target=value >= row.target_12m if higher else value <= row.target_12m,
                breached=value < row.alert_threshold if higher else value > row.alert_threshold,
            )
        )
    return tiles


def build(con: duckdb.DuckDBPyConnection) -> Dashboard:
    """Every chart whose mart has rows; the titles of those without are listed as empty."""
    kpis = queries.read(con, queries.KPI_VS_TARGETS)
    multichannel = queries.read(con, queries.MULTICHANNEL)
    candidates = [
        (
            "kpis",
            "KPIs against their targets",
            "Monthly value (all channels, all segments) of every KPI with a target, against its "
            "baseline, 12-month target and alert threshold. marts.fct_kpis, seeds.kpi_targets.",
            kpis,
            charts.kpis_against_targets,
        ),
        (
            "funnel",
            "Funnel by channel",
            "Web and app sessions reaching each stage, all dates. marts.fct_funnel.",
            queries.read(con, queries.FUNNEL),
            charts.funnel_by_channel,
        ),
        (
            "channel_mix",
            "Channel mix",
            "Touches of known customers per channel and month, the last 12 months. "
            "marts.fct_touchpoints.",
            queries.read(con, queries.CHANNEL_MIX),
            charts.channel_mix,
        ),
        (
            "switching",
            "Channel switching and cross-channel conversion",
            "Share of conversions whose journey used more than one channel, share completed in "
            "another channel than the first touch, and share of touch transitions that switch "
            "channel, per month. marts.fct_cross_channel_metrics.",
            queries.read(con, queries.SWITCHING),
            charts.channel_switching,
        ),
        (
            "attribution",
            "Attribution models side by side",
            "Revenue credited to each channel by six attribution models. "
            "marts.fct_attribution_comparison.",
            queries.read(con, queries.ATTRIBUTION),
            charts.attribution_side_by_side,
        ),
        (
            "journeys",
            "Top converting journeys",
            f"The {TOP_PATHS} most frequent channel paths that ended in a purchase, step by "
            "step, weighted by conversions. marts.fct_top_paths.",
            queries.read(con, queries.TOP_PATHS, [TOP_PATHS]),
            charts.top_journeys,
        ),
        (
            "cohorts",
            "Monthly retention cohorts",
            "Share of each first-purchase cohort active in each later month. "
            "marts.fct_retention_cohorts.",
            queries.read(con, queries.COHORTS),
            charts.retention_cohorts,
        ),
        (
            "multichannel",
            "Multichannel versus single-channel customers",
            "Customers by the number of channels they used, and the latest month's repeat "
            "purchase rate and CLV of each group. marts.dim_customers, "
            "marts.fct_cross_channel_metrics.",
            multichannel if multichannel.notna().any(axis=None) else multichannel.iloc[0:0],
            lambda frame: charts.multichannel_versus_single(
                frame, queries.read(con, queries.CUSTOMERS_BY_CHANNELS)
            ),
        ),
        (
            "identity",
            "Identity resolution",
            "Share of each source's records matched to a known customer, and how many "
            "identifiers each customer has (log scale). marts.fct_identity_audit.",
            queries.read(con, "select * from marts.fct_identity_audit"),
            lambda _: charts.identity_figures(read_identity_audit(con)),
        ),
        (
            "syncs",
            "Sync health per destination",
            "Records of each sync's latest run: confirmed by the destination, failed, in doubt, "
            "blocked by consent, frequency-capped. reverse_etl.sync_runs.",
            queries.sync_health(con),
            charts.sync_health,
        ),
    ]
    built, empty = [], []
    for chart_id, title, caption, frame, draw in candidates:
        if frame.empty:
            empty.append(title)
        else:
            built.append(charts.Chart(chart_id, title, caption, draw(frame)))
    return Dashboard(built, _tiles(kpis), empty, datetime.now(UTC))


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f8fafc; color: #0f172a; }
header { padding: 20px 32px; background: #0f172a; color: #f8fafc; }
header p { margin: 4px 0 0; color: #cbd5e1; font-size: 13px; }
main { padding: 16px 32px 40px; max-width: 1400px; }
nav a { margin-right: 14px; color: #93c5fd; font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.tile { background: white; border-radius: 8px; padding: 10px 12px; border-left: 5px solid #16a34a; }
.tile.off { border-left-color: #ca8a04; } .tile.breached { border-left-color: #dc2626; }
.tile .name { font-size: 12px; color: #475569; } .tile .value { font-size: 22px; font-weight: 600; }
.tile .target { font-size: 12px; color: #64748b; }
section { background: white; border-radius: 8px; margin-top: 18px; padding: 12px 16px; }
section h2 { font-size: 17px; margin: 4px 0; }
section p.caption { color: #475569; font-size: 13px; }
.empty { color: #b45309; }
"""


def _tile_html(tile: KpiTile) -> str:
    state = "breached" if tile.breached else ("" if tile.on_target else "off")
    label = "alert" if tile.breached else ("on target" if tile.on_target else "below target")
    return (
        f'<div class="tile {state}" data-kpi="{html.escape(tile.kpi)}">'
        f'<div class="name">{html.escape(tile.kpi)} · {tile.month}</div>'
        f'<div class="value">{tile.value:,.2f} <small>{html.escape(tile.unit)}</small></div>'
        f'<div class="target">12-month target {tile.target:,.2f} · {label}</div></div>'
    )


def render(dashboard: Dashboard, source: str) -> str:
    """The whole page: Plotly's JavaScript once, then one section per chart."""
    nav = "".join(
        f'<a href="#{chart.chart_id}">{html.escape(chart.title)}</a>' for chart in dashboard.charts
    )
    sections = "".join(
        f'<section id="{chart.chart_id}"><h2>{html.escape(chart.title)}</h2>'
        f'<p class="caption">{html.escape(chart.caption)}</p>'
        + chart.figure.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{chart.chart_id}",
            config={"displaylogo": False, "responsive": True},
        )
        + "</section>"
        for chart in dashboard.charts
    )
    empty = "".join(
        f'<section class="empty"><h2>{html.escape(title)}</h2><p>No data yet.</p></section>'
        for title in dashboard.empty
    )
    built = f"{dashboard.built_at:%Y-%m-%d %H:%M} UTC"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>omni360 — KPI dashboard</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<header><h1>omni360 — omnichannel KPIs</h1><p>Built {built} from "
        f"{html.escape(source)}. Every chart names the mart it reads.</p>"
        f"<nav>{nav}</nav></header><main>"
        f'<div class="tiles">{"".join(_tile_html(tile) for tile in dashboard.tiles)}</div>'
        f"{sections}{empty}</main></body></html>"
    )


def write(page: str, directory: Path) -> Path:
    """Replace the dashboard in one rename, so a reader sees the old page or the new one."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / DASHBOARD_FILE
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".dashboard-", suffix=".html")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(page)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def build_dashboard(con: duckdb.DuckDBPyConnection, directory: Path, source: str) -> Dashboard:
    """Read the marts, render the page and put it in place."""
    dashboard = build(con)
    write(render(dashboard, source), directory)
    return dashboard
