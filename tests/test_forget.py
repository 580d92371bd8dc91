"""The right to be forgotten, end to end, on a copy of the shared pipeline run.

One person of the generated data (known from the generator's truth, not from the warehouse)
is synced to a private channel emulator, then forgotten with the real command. Every column
of every table is then searched for what identified them, the emulator for their profiles,
and the old landing files are delivered again under new names and built: the person must not
come back, and every file must still reconcile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd

from omni360.db import connect
from omni360.ingestion.loader import load_landing
from omni360.privacy.search import find_mentions
from omni360.privacy.suppression import ERASED_REASON
from reverse_etl.channels import ChannelMode, channels
from reverse_etl.config import load_syncs
from reverse_etl.engine import run_sync
from reverse_etl.state import SCHEMA as SYNC_SCHEMA
from tests.conftest import PipelineRun
from tests.dbt_runs import build_models
from tests.landing_copies import redeliver

OMNI360 = str(Path(sys.executable).with_name("omni360"))
ERASING_PROVIDERS = ("braze", "klaviyo", "webhook")


def _person(con: duckdb.DuckDBPyConnection, truth: Path) -> tuple[str, set[str], str]:
    """A person of the truth whose identifiers the graph put under one customer who has an
    e-mail, a phone and orders, synced to as many erasing destinations as anyone: (their
    e-mail, everything that identifies them in any written form, their customer id)."""
    identities = pd.read_parquet(truth / "identities.parquet")
    con.register("truth_identities", identities[~identities["is_shared"]])
    person_id, email, customer_id = con.execute(
        """
        with resolved as (
            select truth.person_id, dim.customer_id, truth.identifier_type, truth.identifier
            from truth_identities as truth
            inner join marts.dim_customer_identifiers as dim
                on dim.identifier_type = truth.identifier_type
                and dim.identifier = truth.identifier
        ),
        whole_people as (
            select person_id, any_value(customer_id) as customer_id
            from resolved group by person_id
            having count(distinct customer_id) = 1
                and count(*) filter (where customer_id is null) = 0
        )
        select people.person_id, max(resolved.identifier), people.customer_id
        from whole_people as people
        inner join resolved on people.person_id = resolved.person_id
        inner join marts.dim_customers as customers on people.customer_id = customers.customer_id
        where resolved.identifier_type = 'email'
          and customers.order_count > 0 and customers.primary_phone is not null
        group by people.person_id, people.customer_id
        order by (
            select count(distinct sync_name) from reverse_etl.snapshots
            where contains(record_key, people.customer_id) and list_contains(?, sync_name)
        ) desc, count(*) desc, people.person_id
        limit 1
        """,
        [[spec.name for spec in load_syncs() if spec.destination_kind in ERASING_PROVIDERS]],
    ).fetchone()
    values = set(identities.loc[identities["person_id"] == person_id, "identifier"])
    for phone in [v for v in values if v.startswith("+380")]:
        values |= {phone[1:], "0" + phone[4:]}  # as digits, and in the national format
    return email, values | {customer_id}, customer_id


def _sync_everyone(con: duckdb.DuckDBPyConnection) -> None:
    """Deliver every sync again to the running (private) emulator, from a clean sync state."""
    for table in ("snapshots", "failures", "in_flight", "departures", "sends"):
        con.execute(f"delete from {SYNC_SCHEMA}.{table}")
    for spec in load_syncs():
        result = run_sync(con, spec)
        assert result.status in ("success", "unchanged"), (spec.name, result)


def _held(emulator: object, needles: set[str]) -> dict[str, int]:
    """How many of the needles each erasing provider's state mentions."""
    held = {}
    for provider in ERASING_PROVIDERS:
        text = json.dumps(emulator.records(provider)).lower()  # type: ignore[attr-defined]
        held[provider] = sum(needle.lower() in text for needle in needles)
    return held


def test_forget_removes_a_person_everywhere_and_keeps_them_out(
    writable_pipeline_run: PipelineRun, tmp_path: Path
) -> None:
    run = writable_pipeline_run
    db = run.settings.db_path
    syncs = load_syncs()
    with channels(ChannelMode.EMULATOR, syncs, tmp_path / "exports") as emulator:
        with connect(db) as con:
            _sync_everyone(con)
            email, needles, customer_id = _person(con, run.truth_dir)
            customers_before = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
            assert find_mentions(con, needles), "the person must be in the warehouse first"
        before = _held(emulator, needles)
        assert sum(before.values()) > 0, before
        others_before = {p: len(emulator.records(p)) for p in ERASING_PROVIDERS}

        forgotten = subprocess.run(
            [OMNI360, "forget", email.upper(), "--db", str(db), "--verify"],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            timeout=300,
        )
        assert forgotten.returncode == 0, forgotten.stdout + forgotten.stderr[-3000:]
        assert "no table mentions the person any more" in forgotten.stderr
        assert email not in forgotten.stdout + forgotten.stderr

        # The destinations no longer hold them; everyone else is still there.
        assert _held(emulator, needles) == dict.fromkeys(ERASING_PROVIDERS, 0)
        for provider in ERASING_PROVIDERS:
            assert len(emulator.records(provider)) >= others_before[provider] - len(needles)
            assert len(emulator.records(provider)) > 0

    with connect(db) as con:
        # Zero rows anywhere: every text column of every table, every graph column.
        assert find_mentions(con, needles) == {}
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == (
            customers_before - 1
        )
        # The audit row: what and when, a salted hash of the identifier, never the identifier.
        audit = con.execute(
            "select status, identifier_hash, rows_deleted, destinations from privacy.erasures"
        ).fetchall()
        assert len(audit) == 1
        status, identifier_hash, rows_deleted, destinations = audit[0]
        assert status == "erased" and rows_deleted > 0
        assert len(identifier_hash) == 64 and email not in identifier_hash
        kinds = {d["kind"]: d for d in json.loads(destinations)}
        assert all(kinds[k]["accepted"] for k in ERASING_PROVIDERS), kinds
        privacy_text = json.dumps(
            con.execute(
                "select * from privacy.erasures, privacy.suppressed_identifiers limit 1000"
            ).fetchall(),
            default=str,
        ).lower()
        assert not any(needle.lower() in privacy_text for needle in needles)
        assert (
            con.execute(
                f"select count(*) from {SYNC_SCHEMA}.snapshots where "
                "record_key like '%' || ? || '%'",
                [customer_id],
            ).fetchone()[0]
            == 0
        )

        # The old files delivered again: the person's rows are quarantined without their
        # text, everyone else's are duplicates, every file reconciles.
        resent = tmp_path / "resent"
        redeliver(run.settings.landing_dir, resent)
        loads = load_landing(con, resent)
        files = [load for per_source in loads.values() for load in per_source]
        assert files and all(load.status == "loaded" and load.reconciles for load in files)
        erased_rows = con.execute(
            "select count(*), count(raw_text) from raw._quarantine where reason = ?",
            [ERASED_REASON],
        ).fetchone()
        assert erased_rows[0] > 0 and erased_rows[1] == 0
        assert sum(load.rows_loaded for load in files) == 0
        assert find_mentions(con, needles) == {}

    # The next build (incremental) does not bring them back either.
    build_models(db, tmp_path / "target")
    with connect(db, read_only=True) as con:
        assert find_mentions(con, needles) == {}
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == (
            customers_before - 1
        )


def test_forget_refuses_what_is_not_one_person(writable_pipeline_run: PipelineRun) -> None:
    """A shared identifier (a family address) names no one person: nothing is removed."""
    db = writable_pipeline_run.settings.db_path
    with connect(db, read_only=True) as con:
        shared = con.execute(
            "select identifier from marts.dim_customer_identifiers "
            "where is_shared and identifier_type = 'email' limit 1"
        ).fetchone()[0]
        rows_before = con.execute("select count(*) from staging.stg_events").fetchone()[0]
    refused = subprocess.run(
        [OMNI360, "forget", shared, "--db", str(db), "--no-destinations"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "shared by several people" in refused.stderr
    with connect(db, read_only=True) as con:
        assert con.execute("select count(*) from staging.stg_events").fetchone()[0] == rows_before
        assert con.execute("select count(*) from privacy.erasures").fetchone()[0] == 0
