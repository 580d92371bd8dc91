"""A contract-following landing zone produced elsewhere loads through `omni360 run`, the run
leaves no secret and no address in its logs, run metadata, dbt files or exports, and its
person, once forgotten, is in no table, not even after the same files are delivered again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from omni360.db import connect
from omni360.ingestion.loader import load_landing
from omni360.privacy.search import find_mentions
from omni360.privacy.suppression import ERASED_REASON
from reverse_etl.channels import ChannelMode, channels
from reverse_etl.config import load_syncs
from tests.foreign_landing import write_foreign_landing
from tests.landing_copies import redeliver
from tests.leak_scan import FAKE_SECRETS, dbt_run_folders, files_mentioning, personal_forms
from tests.test_cli import omni360

# The people of the foreign landing zone.
EMAILS = {"olena.k@gmail.com"}
PHONES = {"+380675551983"}
# Everything else that identifies her, as the files write it.
OTHER_FORMS = {
    "(067) 555-19-83",
    "+380 67 555 19 83",
    "U-42",
    "LC-0042",
    "DEV-7",
    "dev-anon-7",
    "apns-tok-7",
    "777001",
}


@dataclass(frozen=True)
class ForeignRun:
    folder: Path  # everything the run wrote: logs, Dagster home, channels
    landing: Path
    db: Path
    stdout: str


@pytest.fixture(scope="module")
def foreign_run(tmp_path_factory: pytest.TempPathFactory) -> ForeignRun:
    """`omni360 run` on the foreign landing zone, once for the module (the last test of the
    module changes the warehouse: it forgets the person)."""
    folder = tmp_path_factory.mktemp("foreign_run")
    landing, db = folder / "foreign", folder / "warehouse.duckdb"
    write_foreign_landing(landing)
    result = omni360(
        "run",
        "--landing",
        str(landing),
        "--db",
        str(db),
        env={"DAGSTER_HOME": str(folder / "dagster_home")},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return ForeignRun(folder, landing, db, result.stdout)


def test_foreign_landing_zone_loads_unchanged(foreign_run: ForeignRun) -> None:
    folder, landing, db = foreign_run.folder, foreign_run.landing, foreign_run.db
    assert "Quarantine is empty." in foreign_run.stdout

    con = duckdb.connect(str(db), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    assert con.execute("select count(*) from raw._quarantine").fetchone()[0] == 0
    # One order per id; the return wins over the earlier completed version.
    orders = con.execute(
        "select order_id, order_status, channel, phone, currency, cast(ordered_at as varchar) "
        "from staging.stg_orders order by 1"
    ).fetchall()
    assert orders == [
        ("ORD-1", "completed", "app", "+380675551983", "UAH", "2026-10-02 08:05:00"),
        ("ORD-2", "returned", "store", "+380675551983", "UAH", "2026-10-03 10:00:00"),
    ]
    identify = con.execute(
        "select email, phone, loyalty_card_id, device_id, touch_channel "
        "from staging.stg_events where event_id = 'ios-8'"
    ).fetchone()
    assert identify == ("olena.k@gmail.com", "+380675551983", "LC-0042", "DEV-7", "app")
    page = con.execute(
        "select cast(occurred_at as varchar), touch_channel, campaign_medium "
        "from staging.stg_events where event_id = 'ajs-1'"
    ).fetchone()
    assert page == ("2026-10-01 09:15:00", "web", "email")
    assert con.execute("select email, phone from staging.stg_crm_contacts").fetchall() == [
        ("olena.k@gmail.com", "+380675551983")
    ]
    consents = con.execute(
        "select identifier, consent_status from staging.stg_consents order by occurred_at"
    ).fetchall()
    assert consents == [("olena.k@gmail.com", "opt_in"), ("+380675551983", "opt_out")]
    assert con.execute("select response_comment from staging.stg_survey_responses").fetchone() == (
        "Fast, thanks!\nWill buy again",
    )
    extra = con.execute("select _extra from raw.orders where order_id = 'ORD-1'").fetchone()[0]
    assert extra == '{"erp_batch":"B1"}'

    # What the run left behind: its log, the Dagster instance (run and event storage), the dbt
    # files of the run, the dashboard, the ad-platform exports (hashes only). The landing zone,
    # the warehouse and what the emulated channels received hold addresses by design.
    (run_log,) = (folder / "logs").glob("run-*.log")
    dbt_folders = dbt_run_folders(run_log.stem.removeprefix("run-"))
    assert dbt_folders and (folder / "dagster_home").is_dir()
    skip = {landing, db, db.with_name(db.name + ".wal"), folder / "channels"}
    needles = set(FAKE_SECRETS) | personal_forms(EMAILS, PHONES)
    assert files_mentioning([folder, *dbt_folders], needles, skip) == {}
    sync_logs = con.execute(
        "select string_agg(coalesce(error, ''), ' ') from reverse_etl.sync_runs"
    ).fetchone()[0]
    assert sync_logs is not None
    assert not [needle for needle in needles if needle.lower() in sync_logs.lower()]
    con.close()


def test_the_foreign_person_forgotten_is_in_no_table_even_after_redelivery(
    foreign_run: ForeignRun,
) -> None:
    """Forgotten by her phone in the national format of one file; searched for in every column
    of every table in every form the files wrote her identifiers in."""
    needles = personal_forms(EMAILS, PHONES) | OTHER_FORMS
    with connect(foreign_run.db, read_only=True) as con:
        assert len(find_mentions(con, needles)) > 20, "she must be in the warehouse first"

    syncs = load_syncs()
    with channels(ChannelMode.EMULATOR, syncs, foreign_run.folder / "erasure_exports"):
        forgotten = omni360("forget", "(067) 555-19-83", "--db", str(foreign_run.db), "--verify")
    assert forgotten.returncode == 0, forgotten.stdout + forgotten.stderr[-3000:]
    assert "no table mentions the person any more" in forgotten.stderr

    with connect(foreign_run.db) as con:
        assert find_mentions(con, needles) == {}
        # Not hers, so kept: the anonymous visitor whose page view never tied to her (still a
        # profile of its own), the catalogue.
        assert con.execute(
            "select identifier_type, identifier from marts.dim_customer_identifiers"
        ).fetchall() == [("anonymous_id", "anon-1")]
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 1
        assert (
            con.execute(
                "select count(*) from raw.events where payload like '%anon-1\"%'"
            ).fetchone()[0]
            == 1
        )
        assert con.execute("select count(*) from raw.products").fetchone()[0] > 0

        # The same files sent again: her rows are quarantined without their text, the rest
        # are duplicates, every file reconciles, and no table mentions her.
        resent = foreign_run.folder / "resent"
        redeliver(foreign_run.landing, resent)
        loads = [load for per_source in load_landing(con, resent).values() for load in per_source]
        assert loads and all(load.status == "loaded" and load.reconciles for load in loads)
        assert sum(load.rows_loaded for load in loads) == 0
        erased = con.execute(
            "select count(*), count(raw_text) from raw._quarantine where reason = ?",
            [ERASED_REASON],
        ).fetchone()
        assert erased[0] > 0 and erased[1] == 0
        assert find_mentions(con, needles) == {}
