"""The Dagster instance shared by `omni360 run` and `omni360 ui`, so runs show in the UI."""

from __future__ import annotations

import os
from pathlib import Path

from omni360.settings import PROJECT_ROOT

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")


def prepare_dagster_home() -> Path:
    """Use `DAGSTER_HOME`, or `.dagster_home` in the project; give it omni360's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_TEMPLATE.read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return home
