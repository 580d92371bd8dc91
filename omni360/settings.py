"""Where omni360 reads from and writes to, from flags or the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LANDING = "data/landing"
DEFAULT_DB = "data/omni360.duckdb"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    db_path: Path

    @classmethod
    def resolve(cls, landing: Path | str | None = None, db: Path | str | None = None) -> Settings:
        """Flags win over `LANDING_DIR` / `OMNI360_DB`, which win over the defaults."""
        landing = landing or os.environ.get("LANDING_DIR") or DEFAULT_LANDING
        db = db or os.environ.get("OMNI360_DB") or DEFAULT_DB
        return cls(Path(landing).expanduser().resolve(), Path(db).expanduser().resolve())

    def export(self) -> None:
        """Publish the paths to child processes (dbt reads `OMNI360_DB` in profiles.yml)."""
        os.environ["LANDING_DIR"] = str(self.landing_dir)
        os.environ["OMNI360_DB"] = str(self.db_path)
