"""The dbt project as Dagster maps it: every data test becomes a check named after the test."""

from __future__ import annotations

import json
from collections import Counter

from orchestration.dbt import dbt_project, ensure_manifest


def test_data_test_names_are_unique() -> None:
    """Two tests with one name would be one Dagster check reported twice, failing the run."""
    ensure_manifest()
    manifest = json.loads(dbt_project.manifest_path.read_text())
    names = Counter(
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"
    )
    assert [name for name, count in names.items() if count > 1] == []
