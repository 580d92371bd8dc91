"""Where the dashboard is written and the address it is served at."""

from __future__ import annotations

import os
from pathlib import Path

PORT_ENV = "OMNI360_DASHBOARD_PORT"
DEFAULT_PORT = 8360


def dashboard_dir(db_path: Path) -> Path:
    """Beside the warehouse file: `<warehouse folder>/dashboard/index.html`."""
    return db_path.parent / "dashboard"


def dashboard_port() -> int:
    return int(os.environ.get(PORT_ENV, DEFAULT_PORT))


def dashboard_url(port: int | None = None) -> str:
    """The address `omni360 dashboard --serve` (and `omni360 ui`) serve the dashboard at."""
    return f"http://127.0.0.1:{port or dashboard_port()}/"
