"""The `omni360` command: generate demo data, run the pipeline, inspect what was loaded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from contextlib import redirect_stdout, suppress
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from omni360.cli_dashboard import dashboard as dashboard_command
from omni360.cli_dashboard import serving
from omni360.cli_docs import docs as docs_command
from omni360.cli_privacy import forget_command
from omni360.cli_syncs import emulator as emulator_command
from omni360.cli_syncs import export_dir, keep_delivered, print_table
from omni360.cli_syncs import sync as sync_command
from omni360.dashboard.location import DEFAULT_PORT, PORT_ENV, dashboard_dir
from omni360.dashboard.page import DASHBOARD_FILE
from omni360.db import DatabaseBusyError, connect
from omni360.evaluation import EvaluationInputError, StitchingQuality, evaluate_stitching
from omni360.ingestion.discovery import LandingZoneError, check_landing_dir
from omni360.settings import DEFAULT_DB, DEFAULT_LANDING, Settings
from reverse_etl.channels import ChannelMode, channels
from reverse_etl.config import load_syncs

app = typer.Typer(
    help="omni360: one customer across every channel — warehouse-native customer-data platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)
app.command("sync")(sync_command)
app.command("emulator")(emulator_command)
app.command("dashboard")(dashboard_command)
app.command("docs")(docs_command)
app.command("forget")(forget_command)

LandingOption = Annotated[
    Path | None,
    typer.Option(
        "--landing",
        help=f"Landing-zone folder [env: LANDING_DIR; default: {DEFAULT_LANDING}]",
        show_default=False,
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help=f"DuckDB warehouse file [env: OMNI360_DB; default: {DEFAULT_DB}]",
        show_default=False,
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@app.command()
def generate(
    landing: LandingOption = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="Folder for the ground truth (outside the landing zone) "
            "[default: a 'truth' folder beside the landing zone]",
            show_default=False,
        ),
    ] = None,
    customers: Annotated[int, typer.Option(min=1, help="Number of people")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files")] = 42,
    days: Annotated[int, typer.Option(min=1, help="Days of history")] = 120,
    end_date: Annotated[str, typer.Option(help="Last day of history (YYYY-MM-DD)")] = "2026-10-31",
    broken_rows: Annotated[
        int, typer.Option(min=0, help="Contract-breaking rows to inject (for quarantine tests)")
    ] = 0,
) -> None:
    """Write a realistic demo landing zone (and its ground truth) for N customers."""
    from omni360.generator import generate as run_generator

    settings = Settings.resolve(landing=landing)
    truth_dir = (truth or settings.landing_dir.parent / "truth").resolve()
    try:
        last_day = date.fromisoformat(end_date)
    except ValueError:
        raise _fail(f"--end-date must be YYYY-MM-DD, got {end_date!r}") from None
    with _progress() as progress:
        tasks: dict[str, int] = {}

        def on_progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        try:
            summary = run_generator(
                settings.landing_dir,
                truth_dir,
                customers=customers,
                seed=seed,
                end_date=last_day,
                days=days,
                broken_rows=broken_rows,
                on_progress=on_progress,
            )
        except ValueError as error:
            raise _fail(str(error)) from None
    console.print(
        f"[green]wrote[/] {sum(summary.files_written.values())} files, "
        f"{sum(summary.rows_written.values()):,} rows to {settings.landing_dir}; "
        f"ground truth in {truth_dir}"
    )


@app.command()
def run(
    landing: LandingOption = None,
    db: DbOption = None,
    channel_mode: Annotated[
        ChannelMode,
        typer.Option(
            "--channels",
            envvar="OMNI360_CHANNELS",
            help="Where the syncs deliver: the bundled local channel emulator (the demo), the "
            "live providers (addresses and secrets from the environment variables the syncs "
            "name), or none (no sync runs)",
        ),
    ] = ChannelMode.EMULATOR,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild the incremental models from raw instead of adding what is new "
            "(same result; docs/incremental.md)",
        ),
    ] = False,
) -> None:
    """Load new landing files, build and test the dbt models, sync audiences to the channels."""
    settings = Settings.resolve(landing, db)
    try:
        check_landing_dir(settings.landing_dir)
    except LandingZoneError as error:
        raise _fail(str(error)) from None
    try:
        # Wait for the warehouse here: inside the pipeline, a busy file only fails a step.
        connect(settings.db_path).close()
    except DatabaseBusyError as error:
        raise _fail(str(error), code=3) from None
    from orchestration.runner import run_pipeline

    run_id = str(uuid.uuid4())
    # dbt's own log lines go to a file; the terminal shows the progress bar and the summary.
    log_path = settings.db_path.parent / "logs" / f"run-{run_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with _progress() as progress, log_path.open("w") as log, redirect_stdout(log):
        task = progress.add_task("materializing assets", total=None)

        def on_asset(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label[:34])

        try:
            with channels(channel_mode, load_syncs(), export_dir(settings)) as emulator:
                outcome = run_pipeline(
                    settings,
                    run_id=run_id,
                    on_asset=on_asset,
                    include_syncs=channel_mode is not ChannelMode.NONE,
                    full_refresh=full_refresh,
                )
                delivered = keep_delivered(emulator, settings) if emulator else None
        except DatabaseBusyError as error:
            raise _fail(str(error), code=3) from None
    try:
        _print_status(settings)
    except DatabaseBusyError as error:
        raise _fail(str(error), code=3) from None
    if delivered is not None:
        print_table(delivered)
    if not outcome.success:
        raise _fail(f"run {outcome.run_id} failed: {outcome.failure} (log: {log_path})", code=1)
    if outcome.checks_failed:
        raise _fail(
            f"run {outcome.run_id}: {outcome.checks_failed} checks failed "
            "(see `omni360 ui` → Runs, or `omni360 status`)",
            code=1,
        )
    console.print(
        f"[green]done[/]: {outcome.materialized} assets materialized, "
        f"{outcome.checks_passed} checks passed, {outcome.checks_warned} warned, "
        f"{outcome.checks_failed} failed "
        f"(run {outcome.run_id}).\nWarehouse: {settings.db_path}\nRun log:   {log_path}\n"
        f"Dashboard: {dashboard_dir(settings.db_path) / DASHBOARD_FILE}\n"
        "Look around: `omni360 status`, `omni360 dashboard --serve`, `omni360 ui` (the Dagster "
        "lineage, runs and checks)."
    )


def _print_status(settings: Settings) -> None:
    from omni360.ingestion.report import all_totals, quarantine_reasons

    with connect(settings.db_path, read_only=True) as con:
        totals = all_totals(con)
        reasons = quarantine_reasons(con)
    table = Table(title=f"Loaded into {settings.db_path}", title_justify="left")
    for header in (
        "source",
        "files",
        "read",
        "loaded",
        "duplicates",
        "quarantined",
        "unreadable files",
        "last load (UTC)",
    ):
        table.add_column(header, justify="left" if header == "source" else "right")
    for t in totals:
        table.add_row(
            t.source,
            f"{t.files:,}",
            f"{t.rows_read:,}",
            f"{t.rows_loaded:,}",
            f"{t.rows_duplicate:,}",
            f"{t.quarantined_rows:,}",
            f"{t.unreadable_files:,}",
            (t.last_loaded_at or "-")[:19],
        )
    # Piped output (logs, CI) gets a fixed width instead of an 80-column squeeze.
    out = Console(width=None if sys.stdout.isatty() else 150)
    out.print(table)
    if reasons:
        quarantine = Table(title="Quarantine: most frequent reasons", title_justify="left")
        for header in ("source", "reason", "rows", "first at"):
            quarantine.add_column(header)
        for source, reason, n_rows, example in reasons:
            quarantine.add_row(source, reason, f"{n_rows:,}", example)
        out.print(quarantine)
    else:
        out.print("Quarantine is empty.")


@app.command()
def status(db: DbOption = None) -> None:
    """Show what is loaded per source and what was quarantined, and why."""
    settings = Settings.resolve(db=db)
    if not settings.db_path.exists():
        raise _fail(f"no warehouse at {settings.db_path}: run `omni360 run` first")
    try:
        _print_status(settings)
    except DatabaseBusyError as error:
        raise _fail(str(error), code=3) from None


@app.command()
def ui(
    landing: LandingOption = None,
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port of the web UI on 127.0.0.1")] = 3000,
    dashboard_port: Annotated[
        int,
        typer.Option(
            envvar=PORT_ENV, help="Port on 127.0.0.1 the KPI dashboard (linked from Dagster) is on"
        ),
    ] = DEFAULT_PORT,
    channel_mode: Annotated[
        ChannelMode,
        typer.Option(
            "--channels",
            envvar="OMNI360_CHANNELS",
            help="Where syncs materialized from the UI deliver (as for `omni360 run`)",
        ),
    ] = ChannelMode.EMULATOR,
) -> None:
    """Open the Dagster UI (lineage, runs, checks) on 127.0.0.1:PORT; serve the KPI dashboard."""
    settings = Settings.resolve(landing, db)
    settings.export()
    os.environ[PORT_ENV] = str(dashboard_port)
    from orchestration.instance import prepare_dagster_home

    prepare_dagster_home()
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1"]
    with (
        channels(channel_mode, load_syncs(), export_dir(settings)) as emulator,
        serving(settings, dashboard_port) as dashboard_address,
    ):
        if emulator is not None:
            console.print(f"Syncs deliver to the local channel emulator at {emulator.url}")
        if dashboard_address:
            console.print(f"KPI dashboard (after a run) at {dashboard_address}")
        dagster_dev = subprocess.Popen([*command, "-p", str(port)])
        # Stopping this command stops the UI (the emulator lives only as long as both).
        signal.signal(signal.SIGTERM, lambda *_: dagster_dev.terminate())
        try:
            with suppress(KeyboardInterrupt):
                dagster_dev.wait()
        finally:
            if dagster_dev.poll() is None:
                dagster_dev.terminate()
                dagster_dev.wait()


@app.command()
def evaluate(
    truth: Annotated[
        Path,
        typer.Option(help="Ground-truth folder written by `omni360 generate`", show_default=False),
    ],
    db: DbOption = None,
    min_precision: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Lowest acceptable pairwise precision over evidenced identifiers"
        ),
    ] = 0.99,
    min_recall: Annotated[
        float,
        typer.Option(
            min=0, max=1, help="Lowest acceptable pairwise recall over the pairs the records link"
        ),
    ] = 0.99,
    json_path: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the figures to this JSON file", show_default=False),
    ] = None,
) -> None:
    """Score identity stitching against the ground truth; exit 1 when it falls short.

    Gated: pairwise precision over evidenced identifiers (seen beside another identifier).

    Gated: pairwise recall over the pairs the records link (a person's, by a chain of records).

    Gated: no shared device or e-mail joined two persons (non-order identifiers of two people).
    """
    settings = Settings.resolve(db=db)
    truth_dir = truth.expanduser().resolve()
    if not truth_dir.is_dir():
        raise _fail(f"no ground truth at {truth_dir}: `omni360 generate --truth` writes it")
    if not settings.db_path.exists():
        raise _fail(f"no warehouse at {settings.db_path}: run `omni360 run` first")
    try:
        quality = evaluate_stitching(settings.db_path, truth_dir)
    except EvaluationInputError as error:
        raise _fail(str(error)) from None
    except DatabaseBusyError as error:
        raise _fail(str(error), code=3) from None
    failures = quality.failures(min_precision, min_recall)
    _print_stitching_quality(quality, min_precision, min_recall)
    if json_path is not None:
        figures = {
            "warehouse": str(settings.db_path),
            "truth": str(truth_dir),
            "min_precision": min_precision,
            "min_recall": min_recall,
            "passed": not failures,
            "failures": failures,
            **quality.to_dict(),
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
    if failures:
        raise _fail("stitching below the minimum: " + "; ".join(failures), code=1)
    console.print(
        f"[green]ok[/]: precision {quality.precision:.4f} ≥ {min_precision}, "
        f"recall {quality.recall:.4f} ≥ {min_recall}, "
        "no shared device or e-mail joined two persons"
    )


STITCHING_NOTES = """\
evidenced identifier: a truth identifier (one person's, order ids included) seen in a record
  beside another identifier.
precision over evidenced identifiers (gated): of the pairs of evidenced identifiers in one
  customer, the share that belong to one person.
recall over linked pairs (gated): of the linked pairs, two identifiers of one person connected
  by a chain of records each holding two of that person's identifiers, the share in one
  customer. The recalls marked info count every pair of one person's evidenced, or all,
  identifiers, including pairs no record chain links.
joined two persons (gated for device_id and email): a shared identifier placed in a customer
  that holds non-shared identifiers other than order ids of two or more people.
orders attributed only through it (info): orders in such a customer bought by someone other
  than its main person and seen beside nothing but shared identifiers; nothing tells them
  apart, and precision already counts them."""


def _print_stitching_quality(
    quality: StitchingQuality, min_precision: float, min_recall: float
) -> None:
    ev, every = quality.evidenced, quality.all_truth

    def verdict(ok: bool) -> str:
        return "[green]ok[/]" if ok else "[bold red]below[/]"

    table = Table(
        title="Identity stitching against the ground truth (pairs of identifiers)",
        title_justify="left",
    )
    for header in ("measure", "value", "minimum", ""):
        table.add_column(header, justify="left" if header == "measure" else "right")
    table.add_row(
        "precision over evidenced identifiers",
        f"{quality.precision:.4f}",
        f"{min_precision}",
        verdict(quality.precision >= min_precision),
    )
    table.add_row(
        "recall over linked pairs",
        f"{quality.recall:.4f}",
        f"{min_recall}",
        verdict(quality.recall >= min_recall),
    )
    table.add_row("recall over evidenced identifiers (info)", f"{quality.recall_evidenced:.4f}")
    table.add_row("recall over all truth identifiers (info)", f"{quality.recall_all_truth:.4f}")
    table.add_row(
        "evidenced identifiers",
        f"{ev.identifiers:,} of {every.identifiers:,} ({quality.evidenced_share:.1%})",
    )
    table.add_row(
        "evidenced pairs in one customer: of one person / all",
        f"{ev.correct_pairs:,} / {ev.predicted_pairs:,}",
    )
    table.add_row(
        "linked pairs: in one customer / all",
        f"{quality.linked_pairs_found:,} / {quality.linked_pairs:,}",
    )
    table.add_row(
        "evidenced pairs of one person: in one customer / all",
        f"{ev.correct_pairs:,} / {ev.true_pairs:,}",
    )
    table.add_row("evidenced identifiers in no customer", f"{quality.unplaced_evidenced:,}")
    table.add_row("customers mixing persons", f"{quality.mixed_customers:,}")
    table.add_row(
        "customers mixing persons beyond order ids", f"{quality.mixed_customers_beyond_orders:,}"
    )
    table.add_row("persons split over customers", f"{quality.split_persons:,}")
    table.add_row(
        "linked identifier groups split over customers", f"{quality.split_linked_groups:,}"
    )
    shared = Table(title="Shared identifiers (used by several people)", title_justify="left")
    for header in (
        "type",
        "shared",
        "flagged",
        "not flagged",
        "joined two persons",
        "orders attributed only through it",
        "not in warehouse",
    ):
        shared.add_column(header, justify="left" if header == "type" else "right")
    for s in quality.shared:
        shared.add_row(
            s.identifier_type,
            f"{s.shared:,}",
            f"{s.flagged:,}",
            f"{s.not_flagged:,}",
            f"[bold red]{s.joined_two_persons:,}[/]" if s.joined_two_persons else "0",
            f"{s.orders_attributed_only_through_shared:,}",
            f"{s.not_in_warehouse:,}",
        )
    out = Console(width=None if sys.stdout.isatty() else 150)
    out.print(table)
    out.print(shared)
    out.print(STITCHING_NOTES, style="dim", highlight=False)


if __name__ == "__main__":
    app()
