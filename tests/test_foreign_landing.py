"""A contract-following landing zone produced elsewhere loads through `omni360 run`, and the
run leaves no secret and no address in its logs, run metadata, dbt files or exports."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.foreign_landing import write_foreign_landing
from tests.leak_scan import FAKE_SECRETS, dbt_run_folders, files_mentioning, personal_forms
from tests.test_cli import omni360

# The people of the foreign landing zone.
EMAILS = {"olena.k@gmail.com"}
PHONES = {"+380675551983"}


def test_foreign_landing_zone_loads_unchanged(tmp_path: Path) -> None:
    landing, db = tmp_path / "foreign", tmp_path / "warehouse.duckdb"
    write_foreign_landing(landing)
    result = omni360(
        "run",
        "--landing",
        str(landing),
        "--db",
        str(db),
        env={"DAGSTER_HOME": str(tmp_path / "dagster_home")},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Quarantine is empty." in result.stdout

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
    (run_log,) = (tmp_path / "logs").glob("run-*.log")
    dbt_folders = dbt_run_folders(run_log.stem.removeprefix("run-"))
    assert dbt_folders and (tmp_path / "dagster_home").is_dir()
    skip = {landing, db, db.with_name(db.name + ".wal"), tmp_path / "channels"}
    needles = set(FAKE_SECRETS) | personal_forms(EMAILS, PHONES)
    assert files_mentioning([tmp_path, *dbt_folders], needles, skip) == {}
    sync_logs = con.execute(
        "select string_agg(coalesce(error, ''), ' ') from reverse_etl.sync_runs"
    ).fetchone()[0]
    assert sync_logs is not None
    assert not [needle for needle in needles if needle.lower() in sync_logs.lower()]
