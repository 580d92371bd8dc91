"""`dagster dev` (what `omni360 ui` starts) serves the lineage: landing → syncs → dashboard."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import httpx
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from omni360.contract import SOURCES
from omni360.settings import PROJECT_ROOT
from reverse_etl.config import load_syncs
from tests.browser import artifacts_dir, chromium, open_page

QUERY = """{ assetNodes {
  assetKey { path } dependencyKeys { path } groupName description
  owners { ... on UserAssetOwner { email } ... on TeamAssetOwner { team } }
  hasAssetChecks assetChecksOrError { ... on AssetChecks { checks { name } } }
} }"""


# The first and last groups of the chain, each drawn as a graph node and listed beside it.
LINEAGE_GROUPS = ("landing_zone", "syncs", "reports")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _see_the_lineage_page(port: int) -> None:
    """The global lineage page as a new stakeholder opens it, past the first-visit dialog."""
    with chromium() as browser:
        watched = open_page(browser, f"http://127.0.0.1:{port}/asset-groups")
        page = watched.page
        skip = page.get_by_role("button", name="Skip")
        with suppress(PlaywrightTimeout):
            skip.click(timeout=15_000)
        try:
            # Polled from here: the UI's Content Security Policy may refuse a predicate
            # evaluated from a string in the page.
            deadline = time.monotonic() + 60
            text = ""
            while time.monotonic() < deadline:
                text = page.inner_text("body")
                if all(text.count(group) >= 2 for group in LINEAGE_GROUPS):
                    break
                page.wait_for_timeout(500)
            assert all(text.count(group) >= 2 for group in LINEAGE_GROUPS), text[:2000]
        finally:
            page.screenshot(path=str(artifacts_dir() / "dagster-lineage.png"))


def test_dagster_dev_serves_the_connected_graph(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "LANDING_DIR": str(tmp_path / "landing"),
        "OMNI360_DB": str(tmp_path / "w.duckdb"),
    }
    omni360 = str(Path(sys.executable).with_name("omni360"))
    server = subprocess.Popen(
        [omni360, "ui", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        nodes = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and nodes is None:
            time.sleep(1)
            try:
                reply = httpx.post(
                    f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}, timeout=10
                )
                nodes = reply.json()["data"]["assetNodes"]
            except (httpx.HTTPError, KeyError, ValueError, TypeError):
                assert server.poll() is None, "the UI server exited early"
        assert nodes, "the UI did not answer within 120 s"
        _see_the_lineage_page(port)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a busy machine can be slow to shut dagster dev down
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
    parents = {
        "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
        for n in nodes
    }
    groups = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
    for source in SOURCES:
        assert f"landing/{source}" in parents[f"raw/{source}"]
        assert f"raw/{source}" in parents[f"staging/stg_{source}"]
        assert groups[f"raw/{source}"] == "ingestion"
        assert groups[f"staging/stg_{source}"] == "staging"

    # Every asset is described, owned and grouped, as a stakeholder sees it in the UI.
    for node in nodes:
        key = "/".join(node["assetKey"]["path"])
        assert node["description"], f"{key} has no description"
        assert node["owners"], f"{key} has no owner"
        assert node["groupName"] not in (None, "default"), f"{key} has no group"

    # The full chain: every sync, and the dashboard, descend from the landing zone.
    children: dict[str, set[str]] = {}
    for child, its_parents in parents.items():
        for parent in its_parents:
            children.setdefault(parent, set()).add(child)
    reached = {key for key in parents if key.startswith("landing/")}
    frontier = set(reached)
    while frontier:
        frontier = {child for key in frontier for child in children.get(key, ())} - reached
        reached |= frontier
    syncs = [key for key in parents if key.startswith("syncs/")]
    assert len(syncs) == len(load_syncs())
    assert set(syncs) <= reached
    assert "reports/kpi_dashboard" in reached
    assert set(syncs) <= parents["reports/kpi_dashboard"]
    for spec in load_syncs():
        sync = parents[f"syncs/{spec.name}"]
        assert any(parent.split("/")[-1] == spec.source for parent in sync)
        if spec.consent_gate:  # the send-time gate is upstream of every gated sync
            assert "marts/fct_contact_permissions" in sync

    # Sources carry freshness checks.
    checks = {
        "/".join(n["assetKey"]["path"]): {c["name"] for c in n["assetChecksOrError"]["checks"]}
        for n in nodes
        if n["hasAssetChecks"]
    }
    for source in SOURCES:
        assert "freshness_check" in checks[f"raw/{source}"]
