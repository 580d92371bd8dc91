"""The pipeline's syncs, run by Dagster to the local channel emulator: what every channel holds
equals its audience, record by record, and no address without consent was ever sent."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator

import dagster as dg
import duckdb
import pytest

from omni360.db import connect
from orchestration.definitions import build_definitions
from orchestration.syncs import CONFIRMED_CHECK, GROUP, source_key, sync_key
from reverse_etl.config import load_syncs
from reverse_etl.engine import run_sync
from tests.conftest import PipelineRun

SYNCS = {spec.name: spec for spec in load_syncs()}


def members(con: duckdb.DuckDBPyConnection, name: str) -> list[dict]:
    """The rows a sync must deliver: its source, its filter, no holdout, sendable only."""
    spec = SYNCS[name]
    where = spec.where or "true"
    return (
        con.sql(
            f"""
            select src.*
            from (select * from {spec.source}) as src
            where ({where}) and not src.is_holdout
                and exists (
                    select 1 from marts.fct_contact_permissions as permission
                    where permission.channel = src.channel
                        and permission.address = src.address and permission.is_sendable
                )
            """
        )
        .to_arrow_table()
        .to_pylist()
    )


@pytest.fixture
def warehouse(pipeline_run: PipelineRun) -> Iterator[duckdb.DuckDBPyConnection]:
    assert pipeline_run.outcome.success, pipeline_run.outcome.failure
    con = connect(pipeline_run.settings.db_path, read_only=True)
    con.execute("set search_path = 'audiences,marts'")
    yield con
    con.close()


def test_every_sync_ran_and_its_log_balances(warehouse: duckdb.DuckDBPyConnection) -> None:
    runs = warehouse.sql(
        """
        select sync_name, status, added, changed, removed, confirmed, failed, in_doubt
        from reverse_etl.sync_runs
        """
    ).fetchall()
    assert {run[0] for run in runs} == set(SYNCS)
    for name, status, added, changed, removed, confirmed, failed, in_doubt in runs:
        assert status in ("success", "unchanged"), name
        assert failed == 0 and in_doubt == 0, name
        assert confirmed == added + changed + (removed if SYNCS[name].mode == "mirror" else 0)


def test_profiles_and_lists_equal_their_audiences(
    warehouse: duckdb.DuckDBPyConnection, pipeline_run: PipelineRun
) -> None:
    emulator = pipeline_run.channels
    vip = {row["customer_id"]: row for row in members(warehouse, "braze_vip")}
    braze = emulator.records("braze")
    assert vip and set(braze) == set(vip)
    for key, profile in braze.items():
        assert profile["omni360_vip"] is True
        assert profile["first_name"] == vip[key]["first_name"]
        assert profile["omni360_preferred_channel"] == vip[key]["channel"]
    for name, list_id in (("klaviyo_welcome", "WelcomeSeries"), ("klaviyo_win_back", "WinBack")):
        expected = {row["customer_id"] for row in members(warehouse, name)}
        assert emulator.list_members(list_id) == expected, name
    klaviyo = emulator.records("klaviyo")
    for row in members(warehouse, "klaviyo_win_back"):
        assert klaviyo[row["customer_id"]]["email"] == row["address"]
    carts = {row["customer_id"] for row in members(warehouse, "onesignal_abandoned_cart")}
    tagged = {
        key
        for key, user in emulator.records("onesignal").items()
        if user["tags"].get("omni360_abandoned_cart") == "1"
    }
    assert tagged == carts


def test_messages_reach_each_member_once(
    warehouse: duckdb.DuckDBPyConnection, pipeline_run: PipelineRun
) -> None:
    emulator = pipeline_run.channels
    for name, provider in (
        ("telegram_abandoned_cart", "telegram"),
        ("sms_replenishment_due", "twilio"),
    ):
        expected = {row["address"]: row["first_name"] for row in members(warehouse, name)}
        sent = emulator.messages(provider)
        assert set(sent) == set(expected), name
        for address, texts in sent.items():
            assert len(texts) == 1, f"{name}: {len(texts)} messages to one recipient"
            assert f"Hi {expected[address]}," in texts[0]
        assert emulator.stats(provider)["duplicate_applications"] == 0
    webhook = emulator.records("webhook")
    chat = {
        f"{r['audience_name']}|{r['customer_id']}" for r in members(warehouse, "chat_app_messages")
    }
    detractors = {row["customer_id"] for row in members(warehouse, "helpdesk_detractors")}
    assert set(webhook) == chat | detractors
    assert {webhook[key]["channel"] for key in chat} <= {"viber", "whatsapp"}
    assert {webhook[key]["contact_type"] for key in detractors} <= {"phone", "email"}


def test_the_ad_export_holds_only_hashes_of_the_audience(
    warehouse: duckdb.DuckDBPyConnection, pipeline_run: PipelineRun
) -> None:
    folder = pipeline_run.settings.db_path.parent / "exports" / "ads_high_propensity"
    rows = [
        row for path in sorted(folder.glob("upsert-*.csv")) for row in csv.DictReader(path.open())
    ]
    expected = {
        hashlib.sha256(row["address"].strip().lower().encode()).hexdigest()
        for row in members(warehouse, "ads_high_propensity")
    }
    assert expected and {row["Email"] for row in rows} == expected
    text = "".join(path.read_text() for path in folder.glob("*.csv"))
    assert "@" not in text


def test_no_address_without_consent_was_ever_sent(
    warehouse: duckdb.DuckDBPyConnection, pipeline_run: PipelineRun
) -> None:
    """Counted on what the channels received, not on what the audiences say."""
    emulator = pipeline_run.channels
    received = [("telegram", address) for address in emulator.messages("telegram")]
    received += [("sms", address) for address in emulator.messages("twilio")]
    received += [("email", profile["email"]) for profile in emulator.records("klaviyo").values()]
    received += [
        (record["channel"], record["address"])
        for record in emulator.records("webhook").values()
        if "channel" in record
    ]
    received += [
        ("agent", record["contact"])
        for record in emulator.records("webhook").values()
        if "contact" in record
    ]
    assert len(received) > 20
    sendable = set(
        warehouse.sql(
            "select channel, address from marts.fct_contact_permissions where is_sendable"
        ).fetchall()
    )
    violations = [pair for pair in received if pair not in sendable]
    assert violations == []


def test_sync_assets_follow_their_audience_and_carry_the_run(pipeline_run: PipelineRun) -> None:
    defs = build_definitions(pipeline_run.settings)
    graph = defs.resolve_asset_graph()
    for spec in SYNCS.values():
        node = graph.get(sync_key(spec))
        assert source_key(spec) in node.parent_keys
    landing = [key for key in graph.get_all_asset_keys() if key.path[0] == "landing"]
    reached: set[dg.AssetKey] = set()
    frontier = set(landing)
    while frontier:
        reached |= frontier
        frontier = {child for key in frontier for child in graph.get(key).child_keys} - reached
    assert {sync_key(spec) for spec in SYNCS.values()} <= reached

    schedule = next(s for s in defs.schedules if s.name == "syncs_hourly")
    assert schedule.cron_schedule == "0 * * * *"
    instance = dg.DagsterInstance.get()
    for spec in SYNCS.values():
        event = instance.get_latest_materialization_event(sync_key(spec))
        assert event is not None and event.run_id == pipeline_run.outcome.run_id
        metadata = event.asset_materialization.metadata
        assert metadata["status"].value in ("success", "unchanged")
        assert metadata["failed"].value == 0
        check = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(sync_key(spec), CONFIRMED_CHECK)
        )
        assert check is not None and check.event.dagster_event.event_specific_data.passed
    assert all(key.path[0] == GROUP for key in (sync_key(s) for s in SYNCS.values()))


def test_a_second_sync_with_no_change_sends_nothing(writable_pipeline_run: PipelineRun) -> None:
    pipeline_run = writable_pipeline_run  # a copy: the syncs write their state to the warehouse
    emulator = pipeline_run.channels
    before = emulator.stats()["totals"]["requests"]
    with connect(pipeline_run.settings.db_path) as con:
        results = [run_sync(con, spec) for spec in SYNCS.values()]
    assert [r.status for r in results] == ["unchanged"] * len(SYNCS)
    assert sum(r.delivery.requests for r in results) == 0
    assert emulator.stats()["totals"]["requests"] == before
