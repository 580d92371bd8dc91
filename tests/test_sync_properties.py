"""Property: whatever the audience and the permissions, no address that is not sendable (opted
out, suppressed, unknown) and no holdout member is ever sent, and every sendable member is.

Each example is a random audience (customers, channels, shared addresses, duplicate rows,
holdout customers) and a random permissions table (sendable, opted out, suppressed, unknown,
or no row at all) in an in-memory DuckDB emptied between examples; the real engine syncs it to
the webhook receiver of one emulator (reset between examples), and what the receiver got is
checked against the permissions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reverse_etl.emulator import RunningEmulator, start_emulator
from reverse_etl.engine import run_sync
from tests.sync_support import (
    address,
    emulator_environment,
    sync_spec,
    write_audience,
    write_permissions,
)

EXAMPLES = 1000
CHANNELS = ("email", "sms", "telegram")
ADDRESSES_PER_CHANNEL = 5  # few, so that customers share addresses
# What the permissions table says of an address (`missing`: it has no row at all).
STATES = ("sendable", "opted_out", "suppressed", "unknown", "missing")
FIELDS = {"customer_id": "customer_id", "channel": "channel", "address": "address"}


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    customers = draw(st.integers(min_value=1, max_value=6))
    holdout = draw(st.lists(st.booleans(), min_size=customers, max_size=customers))
    picks = draw(
        st.lists(
            st.tuples(
                st.integers(0, customers - 1),
                st.sampled_from(CHANNELS),
                st.integers(0, ADDRESSES_PER_CHANNEL - 1),
            ),
            min_size=1,
            max_size=10,
        )
    )
    picks += draw(st.lists(st.sampled_from(picks), max_size=3))  # duplicate rows
    rows = [
        {
            "customer_id": f"c{customer}",
            "channel": channel,
            "address": address(channel, number),
            "first_name": f"Name{customer}",
            "is_holdout": holdout[customer],
        }
        for customer, channel, number in picks
    ]
    states = {
        (channel, address(channel, number)): draw(st.sampled_from(STATES))
        for channel in CHANNELS
        for number in range(ADDRESSES_PER_CHANNEL)
    }
    return {"rows": rows, "states": states}


def permissions(states: dict[tuple[str, str], str]) -> list[tuple[str, str, Any]]:
    """The table's rows: sendable only for `sendable`; `unknown` is a null decision."""
    decision = {"sendable": True, "opted_out": False, "suppressed": False, "unknown": None}
    return [
        (channel, where, decision[state])
        for (channel, where), state in states.items()
        if state != "missing"
    ]


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with start_emulator() as running, emulator_environment(running):
        yield running


@pytest.fixture(scope="module")
def shared_tls() -> Iterator[None]:
    """Every run builds an httpx client, which loads the CA bundle (about 40 ms) although the
    emulator speaks plain HTTP: over 1,000 runs that would be most of the test's time, so the
    runs here share one TLS context."""
    context = httpx.create_ssl_context()

    class Client(httpx.AsyncClient):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(verify=context, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx, "AsyncClient", Client)
        yield


@pytest.fixture(scope="module")
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB, emptied before every example (opening a new one costs 20 ms); one
    thread, since every query here is tiny and scheduling across threads costs more."""
    con = duckdb.connect(config={"threads": 1})
    yield con
    con.close()


def empty(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every schema the examples create: the audience, the permissions, the engine's
    state (snapshots, failures, sends, the run log)."""
    for schema in ("audiences", "marts", "reverse_etl"):
        con.execute(f"drop schema if exists {schema} cascade")
    leftovers = con.execute(
        "select count(*) from duckdb_tables() where not internal and database_name = 'memory'"
    ).fetchall()[0][0]
    assert leftovers == 0


def test_no_address_that_is_not_sendable_and_no_holdout_member_is_ever_sent(
    emulator: RunningEmulator,
    warehouse: duckdb.DuckDBPyConnection,
    shared_tls: None,
    record_property: pytest.RecordProperty,
) -> None:
    spec = sync_spec(
        emulator, "webhook", name="gated", fields=FIELDS, primary_key=["customer_id", "channel"]
    )
    examples: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(scenario=scenarios())
    def check(scenario: dict[str, Any]) -> None:
        rows, states = scenario["rows"], scenario["states"]
        emulator.reset()
        empty(warehouse)
        write_audience(warehouse, rows)
        write_permissions(warehouse, permissions(states))
        result = run_sync(warehouse, spec)
        assert result.failed == 0 and result.status in ("success", "unchanged")
        received = emulator.records("webhook")
        for key, record in received.items():
            pair = (record["channel"], record["address"])
            assert states[pair] == "sendable", f"{key} sent to a {states[pair]} address"
            assert f"{record['customer_id']}|{record['channel']}" == key
            assert any(
                row["customer_id"] == record["customer_id"]
                and (row["channel"], row["address"]) == pair
                and not row["is_holdout"]
                for row in rows
            ), f"{key} is a holdout member or not in the audience"
        members = {
            f"{row['customer_id']}|{row['channel']}"
            for row in rows
            if not row["is_holdout"] and states[(row["channel"], row["address"])] == "sendable"
        }
        assert set(received) == members
        assert result.counts.holdout_skipped == sum(row["is_holdout"] for row in rows)
        examples.append(len(rows))

    check()
    record_property("hypothesis_examples", len(examples))
    print(f"\n{len(examples)} examples, {sum(examples)} audience rows")
    assert len(examples) >= EXAMPLES
