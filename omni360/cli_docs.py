"""The `omni360 docs` command: dbt's documentation site of the project and its warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from omni360.settings import PROJECT_ROOT, Settings

console = Console(stderr=True)
DBT = str(Path(sys.executable).with_name("dbt"))


def docs(
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB warehouse file")] = None,
    target_path: Annotated[
        Path | None,
        typer.Option(help="Where dbt writes the site [default: the project's target/]"),
    ] = None,
    serve: Annotated[bool, typer.Option(help="Serve the site on 127.0.0.1 afterwards")] = False,
    port: Annotated[int, typer.Option(help="Port of `--serve`")] = 8080,
) -> None:
    """Generate dbt's docs (every model, column, test and the lineage) from the warehouse."""
    settings = Settings.resolve(None, db)
    if not settings.db_path.exists():
        console.print(f"[red]error[/]: no warehouse at {settings.db_path}: run `omni360 run` first")
        raise typer.Exit(2)
    env = {**os.environ, "OMNI360_DB": str(settings.db_path)}
    common = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    if target_path:
        common += ["--target-path", str(target_path.resolve())]
    generated = subprocess.run([DBT, "docs", "generate", *common], env=env, cwd=PROJECT_ROOT)
    if generated.returncode != 0:
        raise typer.Exit(generated.returncode)
    site = (target_path or PROJECT_ROOT / "target").resolve() / "index.html"
    typer.echo(site)
    if serve:
        command = [DBT, "docs", "serve", *common, "--host", "127.0.0.1", "--port", str(port)]
        command.append("--no-browser")
        subprocess.run(command, env=env, cwd=PROJECT_ROOT)
