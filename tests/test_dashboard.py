"""The KPI dashboard the pipeline builds: rendered in headless Chromium, read against the marts."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from playwright.sync_api import Browser

from omni360.dashboard.location import dashboard_dir
from omni360.dashboard.page import DASHBOARD_FILE, TOP_PATHS
from omni360.dashboard.server import start_server
from omni360.db import connect
from omni360.kpis.latest import latest_kpis
from orchestration.dashboard import DASHBOARD
from tests.browser import WatchedPage, artifacts_dir, chromium, open_page
from tests.conftest import PipelineRun

CHARTS = [
    "kpis",
    "funnel",
    "channel_mix",
    "switching",
    "attribution",
    "journeys",
    "cohorts",
    "multichannel",
    "identity",
    "syncs",
]
# Points drawn by every trace of a chart (bars, line points, heatmap cells, Sankey links).
POINTS_JS = """
(id) => document.getElementById(id)._fullData.map(trace => {
  const arrays = [trace.x, trace.y, trace.values, trace.link && trace.link.value];
  const sizes = arrays.filter(a => a && a.length !== undefined).map(a => a.length);
  const cells = trace.z ? Array.from(trace.z).flat().filter(v => v !== null).length : 0;
  return Math.max(cells, ...sizes, 0);
})
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def dashboard_page(pipeline_run: PipelineRun, browser: Browser) -> Iterator[WatchedPage]:
    """The pipeline's dashboard, served on loopback as `omni360 ui` serves it, in Chromium."""
    server = start_server(dashboard_dir(pipeline_run.settings.db_path), _free_port())
    try:
        watched = open_page(browser, f"http://127.0.0.1:{server.server_port}/")
        watched.page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length === {len(CHARTS)}"
        )
        yield watched
    finally:
        server.shutdown()
        server.server_close()


def _chart(page: WatchedPage, chart: str) -> list[dict]:
    return page.page.evaluate(
        """(id) => document.getElementById(id)._fullData.map(t => ({
            name: t.name, type: t.type,
            x: t.x ? Array.from(t.x) : null, y: t.y ? Array.from(t.y) : null,
            z: t.z ? Array.from(t.z).map(r => Array.from(r)) : null,
            labels: t.node ? Array.from(t.node.label) : null,
            source: t.link ? Array.from(t.link.source) : null,
            target: t.link ? Array.from(t.link.target) : null,
            value: t.link ? Array.from(t.link.value) : null,
        }))""",
        f"chart-{chart}",
    )


def test_the_pipeline_builds_the_dashboard_and_links_it(pipeline_run: PipelineRun) -> None:
    event = dg.DagsterInstance.get().get_latest_materialization_event(DASHBOARD)
    assert event is not None and event.run_id == pipeline_run.outcome.run_id
    metadata = event.asset_materialization.metadata
    page = dashboard_dir(pipeline_run.settings.db_path) / DASHBOARD_FILE
    assert metadata["file"].value == str(page) and page.stat().st_size > 1_000_000
    assert metadata["dashboard"].value.startswith("http://127.0.0.1:")
    assert metadata["charts"].value == len(CHARTS)
    assert metadata["charts without data"].value == "none"
    assert "https://" not in page.read_text().split("<script")[0]  # self-contained: no CDN


def test_every_chart_renders_with_data_and_no_console_errors(
    dashboard_page: WatchedPage,
) -> None:
    page = dashboard_page.page
    page.screenshot(path=str(artifacts_dir() / "dashboard.png"), full_page=True)
    ids = page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => g.id)")
    assert ids == [f"chart-{chart}" for chart in CHARTS]
    for chart in CHARTS:
        points = page.evaluate(POINTS_JS, f"chart-{chart}")
        assert points and min(points) > 0, f"{chart}: a trace with nothing drawn {points}"
        drawn = page.locator(f"#chart-{chart} .main-svg").count()
        assert drawn >= 1, f"{chart}: no SVG drawn"
    assert dashboard_page.errors == []


def test_charts_read_the_same_figures_as_the_marts(
    dashboard_page: WatchedPage, pipeline_run: PipelineRun
) -> None:
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        funnel = con.execute(
            "select channel, funnel_stage_order, sum(sessions_reached) from marts.fct_funnel "
            "group by all order by 1, 2"
        ).fetchall()
        top = con.execute(
            "select sum(conversions) from marts.fct_top_paths where path_rank <= ?", [TOP_PATHS]
        ).fetchone()[0]
        cohorts = con.execute(
            "select cohort_month, months_since_first_purchase, retention_rate "
            "from marts.fct_retention_cohorts"
        ).fetchall()
        nps = next(kpi for kpi in latest_kpis(con) if kpi.kpi == "nps")
        built_at = dg.DagsterInstance.get().get_latest_materialization_event(DASHBOARD).timestamp
        syncs = dict(
            con.execute(
                "select sync_name, arg_max(confirmed, started_at) from reverse_etl.sync_runs "
                "where not dry_run and epoch(started_at) < ? group by 1",
                [built_at],
            ).fetchall()
        )

    drawn_funnel = [
        (trace["name"], stage + 1, value)
        for trace in _chart(dashboard_page, "funnel")
        for stage, value in enumerate(trace["x"])
    ]
    assert drawn_funnel == [(c, s, float(v)) for c, s, v in funnel]

    sankey = _chart(dashboard_page, "journeys")[0]
    purchase = sankey["labels"].index("purchase")
    into_purchase = sum(
        v for t, v in zip(sankey["target"], sankey["value"], strict=True) if t == purchase
    )
    assert into_purchase == top

    heatmap = _chart(dashboard_page, "cohorts")[0]
    drawn_cells = sorted(v for row in heatmap["z"] for v in row if v is not None and v == v)
    assert drawn_cells == pytest.approx(sorted(float(rate) for _, _, rate in cohorts))

    sync_bars = next(t for t in _chart(dashboard_page, "syncs") if t["name"] == "confirmed")
    assert dict(zip(sync_bars["y"], sync_bars["x"], strict=True)) == syncs

    tile = dashboard_page.page.locator('.tile[data-kpi="nps"] .value').inner_text()
    assert tile.startswith(f"{nps.value:,.2f}")


def test_fct_kpis_carries_each_kpis_latest_value(pipeline_run: PipelineRun) -> None:
    event = dg.DagsterInstance.get().get_latest_materialization_event(
        dg.AssetKey(["marts", "fct_kpis"])
    )
    metadata = event.asset_materialization.metadata
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        latest = latest_kpis(con)
    assert len(latest) >= 10
    for kpi in latest:
        assert metadata[f"kpi/{kpi.kpi}"].value == pytest.approx(kpi.value, abs=1e-4)


def test_the_dashboard_stays_open_while_a_run_writes_the_warehouse(
    writable_pipeline_run: PipelineRun, browser: Browser
) -> None:
    pipeline_run = writable_pipeline_run  # a copy: the test holds its write lock
    db_path = pipeline_run.settings.db_path
    omni360 = str(Path(sys.executable).with_name("omni360"))
    writer = duckdb.connect(str(db_path))  # what a running pipeline holds: the write lock
    try:
        result = subprocess.run(
            [omni360, "dashboard", "--db", str(db_path), "--rebuild"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "being written" in result.stderr
        page = Path(result.stdout.strip())
        assert page == dashboard_dir(db_path) / DASHBOARD_FILE
        watched = open_page(browser, page.as_uri())
        watched.page.wait_for_function(
            f"document.querySelectorAll('.js-plotly-plot').length === {len(CHARTS)}"
        )
        assert watched.errors == []
    finally:
        writer.close()
