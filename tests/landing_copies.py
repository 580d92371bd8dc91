"""A landing drop sent again: every file of a landing zone under a new name."""

from __future__ import annotations

import shutil
from pathlib import Path


def redeliver(landing: Path, copy: Path) -> None:
    """Every landing file again, under a new name (a re-sent drop)."""
    for file in landing.rglob("*"):
        if file.is_file():
            target = copy / file.relative_to(landing).with_name("resent_" + file.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
