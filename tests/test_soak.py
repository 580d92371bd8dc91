"""Soak: thirty successive landing drops through incremental loads, builds and syncs.

A generated landing zone is delivered as upstream systems deliver it: its first days at once,
then one day's files at a time (the day's own files, late files and re-sent copies, the weekly
CRM and consent exports with their opt-outs, new identifiers that merge customers). After each
drop the loader, an incremental dbt build of the models and every sync (to a private channel
emulator) run, and the invariants are checked:

- every file reconciles (read = loaded + quarantined + duplicates), and the raw tables and the
  quarantine hold exactly what the load log says was written;
- customer ids are stable: an id that disappears was merged into another (`fct_customer_merges`);
- each destination holds exactly its audience: the Braze VIP flag and the two Klaviyo lists are
  the audiences' members who are not in the holdout and may be contacted;
- nobody who opted out is synced: no list holds an address that may not be contacted, and no
  message goes to an address after its permission was withdrawn.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import duckdb

from omni360.db import connect
from omni360.generator import generate
from omni360.generator.next_day import FILE_DAY
from omni360.ingestion.loader import load_landing
from reverse_etl.channels import ChannelMode, channels, patched_environment
from reverse_etl.config import SyncSpec, load_syncs
from reverse_etl.engine import run_sync
from tests.dbt_runs import SKIP_SEEDS, build_models

DROPS = 30
FIRST_DAYS = 6
MESSAGE_PROVIDERS = ("telegram", "twilio")
# Mirror syncs whose destination state is compared with their audience.
LISTS = {"klaviyo_welcome": "WelcomeSeries", "klaviyo_win_back": "WinBack"}


def _files_by_day(landing: Path) -> dict[str, list[Path]]:
    days: dict[str, list[Path]] = {}
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        found = FILE_DAY.search(path.name)
        assert found, f"{path.name} is named for no day"
        days.setdefault(found[1], []).append(path)
    return days


def _deliver(files: list[Path], generated: Path, landing: Path) -> None:
    for path in files:
        target = landing / path.relative_to(generated)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)


def _check_loads(con: duckdb.DuckDBPyConnection, loads: dict) -> int:
    """Every file of the drop reconciles; the raw tables hold what the load log says."""
    files = [load for per_source in loads.values() for load in per_source]
    assert all(load.status == "loaded" and load.reconciles for load in files), files
    logged = dict(
        con.execute(
            "select source, sum(rows_loaded) from raw._load_log where status = 'loaded' group by 1"
        ).fetchall()
    )
    for source, rows in logged.items():
        assert con.execute(f"select count(*) from raw.{source}").fetchone()[0] == rows, source
    quarantined = con.execute(
        "select sum(rows_quarantined) from raw._load_log where status = 'loaded'"
    ).fetchone()[0]
    assert con.execute("select count(*) from raw._quarantine").fetchone()[0] == quarantined
    return len(files)


def _customer_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("select customer_id from marts.dim_customers").fetchall()}


def _merged_away(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        row[0]
        for row in con.execute("select from_customer_id from marts.fct_customer_merges").fetchall()
    }


def _expected_members(con: duckdb.DuckDBPyConnection, spec: SyncSpec) -> set[str]:
    """The audience's members a mirror sync must leave at the destination: those its filter
    keeps, not in the holdout and, behind a consent gate, allowed on the member's channel and
    address."""
    permission = (
        """
        and exists (
            select 1 from marts.fct_contact_permissions as permissions
            where permissions.channel = members.channel
              and permissions.address = members.address
              and permissions.is_sendable
        )"""
        if spec.consent_gate
        else ""
    )
    kept = f"and ({spec.where})" if spec.where else ""
    return {
        row[0]
        for row in con.execute(
            f"select customer_id from audiences.{spec.source} as members "
            f"where not is_holdout {kept} {permission}"
        ).fetchall()
    }


def _unsendable(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Addresses that may not be contacted on any channel they are known on, now."""
    return {
        row[0]
        for row in con.execute(
            "select address from marts.fct_contact_permissions group by address "
            "having not bool_or(is_sendable)"
        ).fetchall()
    }


def _messages(emulator: object) -> Counter[str]:
    counts: Counter[str] = Counter()
    for provider in MESSAGE_PROVIDERS:
        for recipient, texts in emulator.messages(provider).items():  # type: ignore[attr-defined]
            counts[recipient] += texts if isinstance(texts, int) else len(texts)
    return counts


def test_thirty_drops_keep_every_invariant(tmp_path: Path) -> None:
    generated, landing, db = tmp_path / "generated", tmp_path / "landing", tmp_path / "w.duckdb"
    generate(generated, tmp_path / "truth", customers=80, seed=11, days=FIRST_DAYS + DROPS)
    days = _files_by_day(generated)
    ordered = sorted(days)
    assert len(ordered) >= DROPS + 1
    drops = [[f for d in ordered[:-DROPS] for f in days[d]]] + [days[d] for d in ordered[-DROPS:]]
    syncs = load_syncs()
    by_name = {spec.name: spec for spec in syncs}
    merges = opt_outs = files = 0
    previous_ids: set[str] = set()
    sent: Counter[str] = Counter()
    with (
        channels(ChannelMode.EMULATOR, syncs, tmp_path / "exports") as emulator,
        patched_environment({"OMNI360_DBT_THREADS": os.environ.get("OMNI360_DBT_THREADS", "4")}),
    ):
        for number, drop in enumerate(drops):
            _deliver(drop, generated, landing)
            with connect(db) as con:
                files += _check_loads(con, load_landing(con, landing))
            # The seeds do not change between drops: loaded by the first build only.
            build_models(db, tmp_path / "target", *(SKIP_SEEDS if number else ()))
            with connect(db) as con:
                for spec in syncs:
                    result = run_sync(con, spec)
                    assert result.status in ("success", "unchanged"), (number, spec.name, result)
                ids, merged = _customer_ids(con), _merged_away(con)
                gone = previous_ids - ids
                assert gone <= merged, (number, sorted(gone - merged)[:5])
                merges += len(gone)
                vip = {
                    key
                    for key, record in emulator.records("braze").items()
                    if record.get("omni360_vip")
                }
                assert vip == _expected_members(con, by_name["braze_vip"]), number
                for sync, list_id in LISTS.items():
                    expected = _expected_members(con, by_name[sync])
                    assert emulator.list_members(list_id) == expected, (number, sync)
                unsendable = _unsendable(con)
                now = _messages(emulator)
                late = [r for r in now if r in unsendable and now[r] > sent[r]]
                assert not late, (number, late[:5])
                opt_outs = max(opt_outs, len(unsendable))
                sent, previous_ids = now, ids
    # The soak met what it is for: many files, merges and opt-outs along the way.
    assert files > DROPS and merges > 0 and opt_outs > 0, (files, merges, opt_outs)
