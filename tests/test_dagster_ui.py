"""`dagster dev` (what `omni360 ui` starts) serves the whole lineage: landing → raw → staging."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from omni360.contract import SOURCES
from omni360.settings import PROJECT_ROOT

QUERY = "{ assetNodes { assetKey { path } dependencyKeys { path } groupName } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    finally:
        os.killpg(server.pid, signal.SIGTERM)
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
