"""The `omni360 dashboard` command: build, find, serve or open the KPI dashboard."""

from __future__ import annotations

import signal
import threading
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from omni360.dashboard.location import dashboard_dir, dashboard_port, dashboard_url
from omni360.dashboard.page import DASHBOARD_FILE, build_dashboard
from omni360.dashboard.server import start_server
from omni360.db import DatabaseBusyError, connect
from omni360.settings import Settings

console = Console(stderr=True)
BUSY_WAIT_SECONDS = 5


def _rebuild(settings: Settings) -> None:
    with connect(settings.db_path, read_only=True, wait_seconds=BUSY_WAIT_SECONDS) as con:
        dashboard = build_dashboard(con, dashboard_dir(settings.db_path), settings.db_path.name)
    console.print(f"Built {len(dashboard.charts)} charts from {settings.db_path}.")
    if dashboard.empty:
        console.print(f"[yellow]No data yet[/]: {', '.join(dashboard.empty)}")


@contextmanager
def serving(settings: Settings, port: int) -> Iterator[str | None]:
    """Serve the dashboard folder on 127.0.0.1:PORT for as long as the block runs; yields
    the address, or None (with a warning) when the port is taken."""
    try:
        server = start_server(dashboard_dir(settings.db_path), port)
    except OSError as error:
        console.print(f"[yellow]Dashboard not served[/]: port {port} on 127.0.0.1: {error}")
        yield None
        return
    try:
        yield dashboard_url(port)
    finally:
        server.shutdown()
        server.server_close()


def dashboard(
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB warehouse file")] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Build the page from the warehouse now, not only in a run")
    ] = False,
    serve: Annotated[
        bool, typer.Option(help="Serve it on 127.0.0.1 (the address the Dagster link opens)")
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(help="Port to serve on [env: OMNI360_DASHBOARD_PORT; default: 8360]"),
    ] = None,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open it in the default browser")
    ] = False,
) -> None:
    """The KPI dashboard the pipeline builds after every run (one self-contained HTML file).

    It reads nothing at view time, so it stays open while the next run writes the warehouse.
    """
    settings = Settings.resolve(None, db)
    page = dashboard_dir(settings.db_path) / DASHBOARD_FILE
    if rebuild or not page.exists():
        try:
            _rebuild(settings)
        except FileNotFoundError as error:
            console.print(f"[red]error[/]: {error}")
            raise typer.Exit(2) from None
        except DatabaseBusyError:
            if not page.exists():
                console.print(
                    f"[red]error[/]: {settings.db_path} is being written and no dashboard was "
                    "built yet; it appears when the run finishes."
                )
                raise typer.Exit(3) from None
            console.print("[yellow]The warehouse is being written[/]: showing the last page.")
    typer.echo(page)
    if not serve:
        if open_browser:
            webbrowser.open(page.as_uri())
        return
    with serving(settings, port or dashboard_port()) as url:
        if url is None:
            raise typer.Exit(3)
        console.print(f"Serving the dashboard on {url} — Ctrl-C stops it.")
        if open_browser:
            webbrowser.open(url)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with suppress(KeyboardInterrupt):
            stop.wait()
