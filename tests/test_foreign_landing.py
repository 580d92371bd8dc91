"""A contract-following landing zone produced elsewhere loads through `omni360 run`."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.foreign_landing import write_foreign_landing
from tests.test_cli import omni360


def test_foreign_landing_zone_loads_unchanged(tmp_path: Path) -> None:
    landing, db = tmp_path / "exports", tmp_path / "warehouse.duckdb"
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
        ("ORD-1", "completed", "app", "+380671234567", "UAH", "2026-10-02 08:05:00"),
        ("ORD-2", "returned", "store", "+380671234567", "UAH", "2026-10-03 10:00:00"),
    ]
    identify = con.execute(
        "select email, phone, loyalty_card_id, device_id, touch_channel "
        "from staging.stg_events where event_id = 'ios-8'"
    ).fetchone()
    assert identify == ("olena.k@gmail.com", "+380671234567", "LC-0042", "DEV-7", "app")
    page = con.execute(
        "select cast(occurred_at as varchar), touch_channel, campaign_medium "
        "from staging.stg_events where event_id = 'ajs-1'"
    ).fetchone()
    assert page == ("2026-10-01 09:15:00", "web", "email")
    assert con.execute("select email, phone from staging.stg_crm_contacts").fetchall() == [
        ("olena.k@gmail.com", "+380671234567")
    ]
    consents = con.execute(
        "select identifier, consent_status from staging.stg_consents order by occurred_at"
    ).fetchall()
    assert consents == [("olena.k@gmail.com", "opt_in"), ("+380671234567", "opt_out")]
    assert con.execute("select response_comment from staging.stg_survey_responses").fetchone() == (
        "Fast, thanks!\nWill buy again",
    )
    extra = con.execute("select _extra from raw.orders where order_id = 'ORD-1'").fetchone()[0]
    assert extra == '{"erp_batch":"B1"}'
