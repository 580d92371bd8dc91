"""The `omni360 forget` command: a person's right to be forgotten."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from omni360.db import DatabaseBusyError
from omni360.privacy.forget import ForgetReport, forget, retry_pending
from omni360.privacy.person import ForgetError
from omni360.settings import Settings
from reverse_etl.config import load_syncs
from reverse_etl.destinations.base import ConfigurationError
from reverse_etl.erasure import DestinationErasure

console = Console(stderr=True)


def _destinations_table(reports: list[DestinationErasure]) -> Table:
    table = Table(title="Destinations", title_justify="left")
    for header in ("destination", "syncs", "keys", "requests", "result"):
        table.add_column(header, justify="right" if header in ("keys", "requests") else "left")
    for report in reports:
        result = (
            "accepted" if report.accepted else ("no call" if not report.supported else "FAILED")
        )
        table.add_row(
            report.kind,
            ", ".join(report.syncs),
            f"{report.keys_sent:,}",
            f"{report.requests:,}",
            f"{result}: {report.detail}",
        )
    return table


def _show(report: ForgetReport) -> None:
    console.print(
        f"{report.erasure_id} ({report.status}): {report.customers} customer id(s), "
        f"{report.identifiers} identifier(s), {report.records} source record(s); "
        f"{report.erased.rows:,} row(s) removed"
        + (" (dry run: nothing changed)" if report.status == "dry_run" else "")
    )
    if report.erased.rows_by_table:
        table = Table(title="Rows removed", title_justify="left")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, rows in sorted(report.erased.rows_by_table.items()):
            table.add_row(name, f"{rows:,}")
        console.print(table)
    console.print(
        f"suppressed: {report.erased.suppressed_records:,} record(s), "
        f"{report.erased.suppressed_identifiers:,} identifier form(s)"
    )
    if report.destinations:
        console.print(_destinations_table(report.destinations))
    if report.remaining is not None:
        if report.remaining:
            console.print(f"[bold red]still found:[/] {report.remaining}")
        else:
            console.print("verified: no table mentions the person any more")


def forget_command(
    identifier: Annotated[
        str | None,
        typer.Argument(
            help="E-mail, phone, user id, loyalty card, … of the person", show_default=False
        ),
    ] = None,
    identifier_type: Annotated[
        str | None,
        typer.Option("--type", help="The identifier's type, when the value alone is ambiguous"),
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB warehouse file")] = None,
    destinations: Annotated[
        bool,
        typer.Option(
            "--destinations/--no-destinations",
            help="Ask the syncs' destinations to delete the person (addresses and secrets from "
            "the environment variables the syncs name)",
        ),
    ] = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; change nothing")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="Afterwards, search every table for the person")
    ] = False,
    retry: Annotated[
        bool,
        typer.Option("--retry-pending", help="Send again the erasures a destination refused"),
    ] = False,
) -> None:
    """Forget a person: every row about them, their sync state, their profiles at the
    destinations; keep them out of later loads; record the erasure (without the identifier)."""
    settings = Settings.resolve(db=db)
    if not settings.db_path.exists():
        console.print(f"[bold red]error:[/] no warehouse at {settings.db_path}")
        raise typer.Exit(2)
    try:
        syncs = load_syncs() if destinations or retry else None
        if retry:
            for erasure_id, reports in retry_pending(settings.db_path, syncs or []):
                console.print(erasure_id)
                console.print(_destinations_table(reports))
            return
        if identifier is None:
            console.print("[bold red]error:[/] give the identifier of the person to forget")
            raise typer.Exit(2)
        report = forget(
            settings.db_path,
            identifier,
            identifier_type,
            syncs=syncs,
            dry_run=dry_run,
            verify=verify,
        )
    except (ForgetError, ConfigurationError, DatabaseBusyError) as error:
        console.print(f"[bold red]error:[/] {error}")
        raise typer.Exit(3 if isinstance(error, DatabaseBusyError) else 2) from None
    _show(report)
    if report.pending or report.remaining:
        raise typer.Exit(1)
