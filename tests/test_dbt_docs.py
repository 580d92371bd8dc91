"""`omni360 docs` generates dbt's site, and every mart and its every column is described."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import PipelineRun

DOCUMENTED_FOLDERS = ("marts/", "audiences/")


def test_docs_generate_and_every_mart_column_is_described(
    writable_pipeline_run: PipelineRun, tmp_path: Path
) -> None:
    pipeline_run = writable_pipeline_run  # a copy: dbt opens the warehouse for writing
    omni360 = str(Path(sys.executable).with_name("omni360"))
    site = tmp_path / "site"
    result = subprocess.run(
        [omni360, "docs", "--db", str(pipeline_run.settings.db_path), "--target-path", str(site)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert Path(result.stdout.strip().splitlines()[-1]) == site / "index.html"
    manifest = json.loads((site / "manifest.json").read_text())
    catalog = json.loads((site / "catalog.json").read_text())

    marts = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["path"].startswith(DOCUMENTED_FOLDERS)
    }
    assert len(marts) >= 30
    undocumented = []
    for unique_id, node in marts.items():
        if not node["description"].strip():
            undocumented.append(unique_id)
        # The columns the warehouse really has (the catalog), not only those the YAML lists.
        built = catalog["nodes"][unique_id]["columns"]
        described = {
            name.lower(): column["description"].strip() for name, column in node["columns"].items()
        }
        undocumented += [f"{unique_id}.{name}" for name in built if not described.get(name)]
    assert undocumented == []
