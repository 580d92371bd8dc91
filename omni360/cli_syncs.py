"""The `omni360 sync` and `omni360 emulator` commands, and the channel summary of a run."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omni360.db import DatabaseBusyError, connect
from omni360.settings import Settings
from reverse_etl.channels import (
    ChannelMode,
    channels,
    delivered_summary,
    save_emulator_state,
)
from reverse_etl.config import SyncSpec, load_syncs
from reverse_etl.destinations.base import ConfigurationError
from reverse_etl.emulator import RunningEmulator, start_emulator
from reverse_etl.engine import SyncResult, run_sync
from reverse_etl.state import ensure_state, resolve_in_doubt

console = Console(stderr=True)

ChannelsOption = Annotated[
    ChannelMode,
    typer.Option(
        "--channels",
        help="Where syncs deliver: the bundled local channel emulator, the live providers "
        "(addresses and secrets from the environment variables the syncs name), or none",
    ),
]
SyncsFileOption = Annotated[
    Path | None,
    typer.Option("--syncs", help="Syncs file [default: reverse_etl/syncs.yml]", show_default=False),
]


def export_dir(settings: Settings) -> Path:
    return settings.db_path.parent / "exports"


def channel_state_dir(settings: Settings) -> Path:
    return settings.db_path.parent / "channels"


def keep_delivered(emulator: RunningEmulator, settings: Settings) -> Table:
    """Save what the emulated channels received beside the warehouse; the summary table."""
    table = Table(title="Delivered to the local channel emulator", title_justify="left")
    headers = ("provider", "requests", "records", "messages", "applied", "deletes")
    for header in (*headers, "duplicates", "rejected", "throttled"):
        table.add_column(header, justify="left" if header == "provider" else "right")
    for row in delivered_summary(emulator):
        table.add_row(*(f"{row[h]:,}" if isinstance(row[h], int) else row[h] for h in row))
    if save_emulator_state(emulator, channel_state_dir(settings)):
        table.caption = f"What each channel received: {channel_state_dir(settings)}/<provider>.json"
    return table


def print_table(table: Table) -> None:
    Console(width=None if sys.stdout.isatty() else 170).print(table)


def _results_table(results: list[SyncResult], dry_run: bool) -> Table:
    table = Table(title="Dry run (nothing sent)" if dry_run else "Syncs", title_justify="left")
    headers = ["sync", "status", "source", "added", "changed", "removed", "retried", "held"]
    headers += ["holdout", "no consent", "capped", "confirmed", "failed", "seconds"]
    for header in headers:
        table.add_column(header, justify="left" if header in ("sync", "status") else "right")
    for result in results:
        counts = result.counts
        figures = (
            [
                counts.source_rows,
                counts.added,
                counts.changed,
                counts.removed,
                counts.retried,
                counts.held_in_doubt,
                counts.holdout_skipped,
                counts.consent_blocked,
                counts.frequency_capped,
            ]
            if counts
            else [None] * 9
        )
        figures += [result.confirmed, result.failed]
        cells = ["-" if figure is None else f"{figure:,}" for figure in figures]
        table.add_row(result.sync_name, result.status, *cells, f"{result.duration_seconds:.1f}")
    return table


def _select(syncs: list[SyncSpec], names: list[str]) -> list[SyncSpec]:
    known = {spec.name: spec for spec in syncs}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigurationError(f"no sync named {unknown}; known: {sorted(known)}")
    return [known[name] for name in names] if names else syncs


def sync(
    names: Annotated[list[str] | None, typer.Argument(help="Syncs to run (default: all)")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB warehouse file")] = None,
    channel_mode: ChannelsOption = ChannelMode.LIVE,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent (masked); send nothing")
    ] = False,
    in_doubt: Annotated[
        str | None,
        typer.Option(
            "--in-doubt",
            help="Decide on records held in doubt: 'delivered' (they arrived) or 'resend'",
            show_default=False,
        ),
    ] = None,
    syncs_file: SyncsFileOption = None,
) -> None:
    """Run syncs now (added, changed and removed audience members only), or preview them."""
    settings = Settings.resolve(db=db)
    try:
        selected = _select(load_syncs(syncs_file), names or [])
    except ConfigurationError as error:
        console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(2) from None
    if not settings.db_path.exists():
        console.print(f"[bold red]error:[/] no warehouse at {settings.db_path}")
        raise typer.Exit(2)
    if in_doubt is not None:
        if in_doubt not in ("delivered", "resend"):
            console.print("[bold red]error:[/] --in-doubt takes 'delivered' or 'resend'")
            raise typer.Exit(2)
        with connect(settings.db_path) as con:
            ensure_state(con)
            for spec in selected:
                count = resolve_in_doubt(con, spec.name, delivered=in_doubt == "delivered")
                console.print(f"{spec.name}: {count:,} in-doubt record(s) marked {in_doubt}")
        return
    results: list[SyncResult] = []
    failed = False
    delivered: Table | None = None
    try:
        with (
            channels(channel_mode, selected, export_dir(settings)) as emulator,
            connect(settings.db_path) as con,
        ):
            for spec in selected:
                with console.status(f"{spec.name}…") as status:

                    def progress(done: int, total: int, status=status, name=spec.name) -> None:  # noqa: ANN001
                        status.update(f"{name}: {done:,}/{total:,} records")

                    try:
                        result = run_sync(con, spec, dry_run=dry_run, progress=progress)
                    except ConfigurationError as error:
                        console.print(f"[bold red]{spec.name}:[/] {error}")
                        failed = True
                        continue
                results.append(result)
                failed = failed or result.status in ("failed", "partial")
                if dry_run:
                    for change in result.preview:
                        console.print(f"  {spec.name} {change['operation']}: {change['fields']}")
            delivered = keep_delivered(emulator, settings) if emulator and not dry_run else None
    except DatabaseBusyError as error:
        console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(3) from None
    if delivered is not None:
        print_table(delivered)
    print_table(_results_table(results, dry_run))
    if failed:
        raise typer.Exit(1)


def emulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: a free one)")] = 8765,
) -> None:
    """Run the local channel emulator (webhook, Braze, Klaviyo, OneSignal, Telegram, Twilio)."""
    running = start_emulator(port=port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print(
        f"Channel emulator on {running.url} — providers under /<provider>, "
        f"state at {running.url}/_emulator/state. Ctrl-C stops it."
    )
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
