"""Reverse-ETL sync benchmark: the engine against the local channel emulator.

For each audience size (members) the benchmark

1. writes the audience (`audiences.aud_bench`: customer id, e-mail address, first name) and a
   permissions table with every address sendable into a fresh DuckDB file (in a process of
   its own);
2. runs the sync in a fresh child process, the real engine (`run_sync`, consent gate on),
   to the emulator's webhook receiver in batches of 10,000: the first run sends every member,
   then a re-sync with nothing changed must send nothing;
3. keeps the child's wall times, what the emulator received, and the child's peak resident
   memory (`getrusage(RUSAGE_SELF).ru_maxrss`, checked against the kernel's `VmHWM`);
4. does the same to Braze, 75 members a request (`--braze`).

The emulator runs in a process of its own, in compact mode (digests, not payloads), so its
memory is not counted; the benchmark process itself stays small, because Linux carries a
parent's resident memory at fork time into the child's `ru_maxrss`.

The table goes to stdout, progress to stderr, the figures to a JSON file; the exit code is 1
when a check fails (a member missing or extra at the emulator, a re-sync that sent something),
2 when a step fails.

    python -m bench.syncs --members 1m 5m --braze 1m
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pyarrow as pa

from bench.tables import text_table
from reverse_etl.emulator import ENV, EmulatorClient
from reverse_etl.emulator.providers import Credentials

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_JSON = PROJECT_DIR / "bench" / "results" / "syncs.json"
SOURCE = "aud_bench"
WEBHOOK_BATCH = 10_000
BRAZE_BATCH = 75
MIN_MEMBERS = 1_000
# The demo credentials the emulator accepts, under the variables its settings name.
SECRETS = {
    ENV["webhook"]["signing_secret_env"]: Credentials().webhook_secret,
    ENV["braze"]["api_key_env"]: Credentials().braze_api_key,
}

COLUMNS = (
    "destination",
    "members",
    "requests",
    "sync s",
    "records/s",
    "re-sync s",
    "re-sync sent",
    "peak RSS MiB",
    "emulator",
)


class BenchmarkError(RuntimeError):
    """A step of the benchmark failed (not a check)."""


@dataclass(frozen=True)
class SyncRun:
    """What one child process measured: a full sync, then a re-sync with nothing changed."""

    destination: str
    members: int
    batch_size: int
    confirmed: int
    requests: int
    seconds: float  # the first run, change capture included
    resync_confirmed: int
    resync_requests: int
    resync_records_sent: int  # records the emulator received during the re-sync
    resync_seconds: float
    peak_rss_mib: float  # ru_maxrss of the child: Python, DuckDB, Arrow, httpx
    peak_vm_hwm_mib: float  # the kernel's high-water mark of the same process
    duckdb_memory_limit: str  # as DuckDB showed it during the first run
    emulator_records: int  # what the emulator holds after both runs
    emulator_duplicates: int

    @property
    def records_per_second(self) -> float:
        return self.confirmed / self.seconds

    @property
    def exact(self) -> bool:
        """Every member arrived, nothing else, and the re-sync sent nothing."""
        return (
            self.confirmed == self.members
            and self.emulator_records == self.members
            and self.emulator_duplicates == 0
            and self.resync_requests == 0
            and self.resync_records_sent == 0
            and self.resync_confirmed == 0
        )

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "records_per_second": self.records_per_second, "exact": self.exact}


def parse_size(text: str) -> int:
    """'100k', '1m', '2.5m' or a plain number of members."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text.strip().lower())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 100k or 1m)")
    members = round(float(found[1]) * {"": 1, "k": 1_000, "m": 1_000_000}[found[2]])
    if members < MIN_MEMBERS:
        raise argparse.ArgumentTypeError(f"at least {MIN_MEMBERS:,} members, not {text!r}")
    return members


def write_audience(database: Path, members: int) -> None:
    """The audience and a permissions table where every member's address is sendable."""
    with duckdb.connect(str(database)) as con:
        con.execute("create schema audiences; create schema marts")
        con.execute(
            f"""
            create table audiences.{SOURCE} as
            select
                printf('c%09d', i) as customer_id,
                'email' as channel,
                printf('member.%d@example.com', i) as address,
                'Name' || i as first_name,
                false as is_holdout
            from range({members}) as t(i)
            """
        )
        con.execute(
            f"""
            create table marts.fct_contact_permissions as
            select channel, address, customer_id, true as is_sendable
            from audiences.{SOURCE}
            """
        )


@contextmanager
def emulator_process() -> Iterator[tuple[str, int]]:
    """`python -m reverse_etl.emulator --compact` on a free port; yields its URL and pid."""
    command = [sys.executable, "-m", "reverse_etl.emulator", "--port", "0", "--compact"]
    with subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True) as process:
        try:
            first = process.stdout.readline()
            if "listening on" not in first:
                raise BenchmarkError(f"the emulator did not start: {first!r}")
            yield first.split()[-1], process.pid
        finally:
            process.terminate()
            process.wait(timeout=30)


def vm_hwm_mib(status: Path = Path("/proc/self/status")) -> float | None:
    """A process's peak resident memory as the kernel counts it (Linux), in MiB."""
    try:
        found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found[1]) / 1024 if found else None


def sync_settings(url: str, destination: str) -> dict[str, Any]:
    """The sync: the audience to the emulator's webhook (batches of 10,000) or Braze (75)."""
    settings: dict[str, Any] = {"kind": destination, "base_url": f"{url}/{destination}"}
    settings.update(ENV[destination])
    if destination == "webhook":
        settings["max_batch_size"] = WEBHOOK_BATCH
    return {
        "name": f"bench_{destination}",
        "source": SOURCE,
        "destination": settings,
        "mode": "mirror",
        "primary_key": "customer_id",
        "fields": {"email": "address", "first_name": "first_name"},
        "consent_gate": {"channel": "channel", "address": "address"},
    }


def _python(arguments: list[str], what: str) -> str:
    """`python -m bench.syncs <arguments>` in a fresh process; its stdout (progress goes
    straight to stderr)."""
    command = [sys.executable, "-m", "bench.syncs", *arguments]
    completed = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, **SECRETS},
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"{what} failed (exit {completed.returncode})")
    return completed.stdout


def child(order: dict[str, Any]) -> dict[str, Any]:
    """In the child: a full sync, then a re-sync with nothing changed, then the peak RSS."""
    from reverse_etl.config import parse_sync
    from reverse_etl.engine import run_sync

    spec = parse_sync(order["sync"])
    provider = spec.destination_kind
    limits: list[str] = []
    with EmulatorClient(order["emulator"]) as client, duckdb.connect(order["database"]) as con:
        first = run_sync(con, spec, progress=_child_progress(spec.name, con, limits))
        received = client.stats()["providers"][provider]["records_received"]
        again = run_sync(con, spec)
        stats = client.stats()["providers"][provider]
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "destination": provider,
        "members": order["members"],
        "batch_size": WEBHOOK_BATCH if provider == "webhook" else BRAZE_BATCH,
        "confirmed": first.confirmed,
        "requests": first.delivery.requests,
        "seconds": first.duration_seconds,
        "resync_confirmed": again.confirmed,
        "resync_requests": again.delivery.requests,
        "resync_records_sent": stats["records_received"] - received,
        "resync_seconds": again.duration_seconds,
        "peak_rss_mib": peak_kib / (2**20 if sys.platform == "darwin" else 2**10),
        "peak_vm_hwm_mib": vm_hwm_mib() or 0.0,
        "duckdb_memory_limit": limits[0] if limits else "",
        "emulator_records": stats["records"],
        "emulator_duplicates": stats["duplicate_applications"],
    }


def _child_progress(name: str, con: duckdb.DuckDBPyConnection, limits: list[str]) -> Any:
    """Progress to stderr every 5 s; the first call notes DuckDB's memory limit mid-run."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if not limits:
            limits.append(con.execute("select current_setting('memory_limit')").fetchall()[0][0])
        now = time.monotonic()
        if now - last[0] >= 5 or done == total:
            last[0] = now
            _progress(f"    {name}: {done:,}/{total:,} records")

    return progress


def bench(members: int, destination: str, url: str) -> SyncRun:
    with EmulatorClient(url) as client:
        client.reset()
    with tempfile.TemporaryDirectory(prefix="omni360-syncs-") as work_dir:
        database = Path(work_dir) / "warehouse.duckdb"
        _progress(f"{destination}, {members:,} members: writing the audience")
        _python(["--write-audience", str(database), str(members)], "writing the audience")
        _progress(f"{destination}, {members:,} members: syncing (a child process)")
        order = {
            "database": str(database),
            "sync": sync_settings(url, destination),
            "emulator": url,
            "members": members,
        }
        output = _python(["--child", json.dumps(order)], f"the {destination} sync")
        run = SyncRun(**json.loads(output.strip().splitlines()[-1]))
    _progress(
        f"{destination}, {members:,} members: {run.seconds:.1f} s, "
        f"{run.records_per_second:,.0f} records/s, peak RSS {run.peak_rss_mib:,.0f} MiB"
    )
    return run


def _row(run: SyncRun) -> tuple[str, ...]:
    return (
        f"{run.destination} ({run.batch_size:,}/request)",
        f"{run.members:,}",
        f"{run.requests:,}",
        f"{run.seconds:.1f}",
        f"{run.records_per_second:,.0f}",
        f"{run.resync_seconds:.2f}",
        f"{run.resync_records_sent:,}",
        f"{run.peak_rss_mib:,.0f}",
        "EXACT" if run.exact else "MISMATCH",
    )


def format_table(runs: Sequence[SyncRun]) -> str:
    return text_table([COLUMNS, *map(_row, runs)])


def memory_ratio(runs: Sequence[SyncRun]) -> dict[str, Any] | None:
    """Peak RSS of the largest webhook audience over the smallest's."""
    webhook = sorted((run for run in runs if run.destination == "webhook"), key=lambda r: r.members)
    if len(webhook) < 2:
        return None
    small, large = webhook[0], webhook[-1]
    return {
        "small_members": small.members,
        "large_members": large.members,
        "small_peak_rss_mib": small.peak_rss_mib,
        "large_peak_rss_mib": large.peak_rss_mib,
        "ratio": large.peak_rss_mib / small.peak_rss_mib,
    }


def environment() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pyarrow": pa.__version__,
        "httpx": httpx.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def write_json(path: Path, runs: Sequence[SyncRun], emulator_mib: float | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "environment": environment(),
        "exact": all(run.exact for run in runs),
        "memory": memory_ratio(runs),
        "emulator_peak_rss_mib": emulator_mib,
        "runs": [run.to_json() for run in runs],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.syncs", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--members",
        nargs="+",
        type=parse_size,
        default=[1_000_000, 5_000_000],
        help="audience sizes synced to the webhook receiver (default: 1m 5m)",
    )
    parser.add_argument(
        "--braze",
        nargs="*",
        type=parse_size,
        default=[1_000_000],
        help="audience sizes synced to Braze, 75 a request (default: 1m; none: skip)",
    )
    parser.add_argument(
        "--json", type=Path, default=DEFAULT_JSON, help="results file (default: %(default)s)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--write-audience", nargs=2, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.write_audience:
        write_audience(Path(args.write_audience[0]), int(args.write_audience[1]))
        return 0
    plan = [("webhook", members) for members in args.members]
    plan += [("braze", members) for members in args.braze]
    try:
        with emulator_process() as (url, pid):
            runs = [bench(members, destination, url) for destination, members in plan]
            emulator_mib = vm_hwm_mib(Path(f"/proc/{pid}/status"))
    except BenchmarkError as error:
        _progress(f"sync benchmark failed: {error}")
        return 2
    env = environment()
    print(
        f"Reverse-ETL syncs to the local channel emulator (compact mode, its own process): "
        f"DuckDB {env['duckdb']}, {env['cpus']} CPUs; one run each\n"
    )
    print(format_table(runs))
    ratio = memory_ratio(runs)
    if ratio:
        print(
            f"\npeak RSS {ratio['large_members']:,} / {ratio['small_members']:,} members: "
            f"{ratio['large_peak_rss_mib']:,.0f} / {ratio['small_peak_rss_mib']:,.0f} MiB "
            f"= {ratio['ratio']:.2f}"
        )
    write_json(args.json, runs, emulator_mib)
    _progress(f"results written to {args.json}")
    return 0 if all(run.exact for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
