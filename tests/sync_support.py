"""What the sync-engine tests share: an audience and the permissions table in DuckDB, sync specs
pointed at the local channel emulator, and readers of the state the engine keeps."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from reverse_etl.config import SyncSpec, parse_sync
from reverse_etl.emulator import RunningEmulator

# Small delays, many attempts: faults are retried quickly and almost never exhaust a batch.
FAST_RETRY = {"base_delay": 0.01, "max_delay": 0.05, "max_attempts": 12, "timeout": 10.0}
# The emulator's own rate limits for the message providers, raised so that only the engine's
# limiter paces the requests (tests that want 429s lower them again).
ROOMY_LIMITS = {"telegram": [[10_000, 1.0]], "twilio": [[10_000, 1.0]]}

AUDIENCE_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("channel", pa.string()),
        ("address", pa.string()),
        ("first_name", pa.string()),
        ("is_holdout", pa.bool_()),
    ]
)
PERMISSIONS_SCHEMA = pa.schema(
    [
        ("channel", pa.string()),
        ("address", pa.string()),
        ("customer_id", pa.string()),
        ("is_sendable", pa.bool_()),
    ]
)
RAW_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
RAW_PHONE = re.compile(r"\+\d{8,15}")


def address(channel: str, number: int) -> str:
    """A distinct, valid address of `channel` for member `number`."""
    if channel == "email":
        return f"member.{number}@example.com"
    if channel == "sms":
        return f"+4915{number:09d}"
    if channel == "telegram":
        return str(700_000_000 + number)
    return f"{channel}-{number}"


def audience(
    count: int,
    *,
    channel: str = "email",
    start: int = 0,
    holdout_every: int = 0,
) -> list[dict[str, Any]]:
    """`count` members c00000, c00001, ... on one channel; every `holdout_every`-th one in the
    holdout group."""
    rows = []
    for number in range(start, start + count):
        rows.append(
            {
                "customer_id": f"c{number:06d}",
                "channel": channel,
                "address": address(channel, number),
                "first_name": f"Name{number}",
                "is_holdout": bool(holdout_every) and number % holdout_every == 0,
            }
        )
    return rows


def write_audience(
    con: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]], table: str = "aud_members"
) -> None:
    """`audiences.<table>` holding exactly `rows` (replacing what it held)."""
    con.execute("create schema if not exists audiences")
    con.register("_test_rows", pa.Table.from_pylist(list(rows), schema=AUDIENCE_SCHEMA))
    con.execute(f"create or replace table audiences.{table} as select * from _test_rows")
    con.unregister("_test_rows")


def write_permissions(
    con: duckdb.DuckDBPyConnection, permissions: Iterable[tuple[str, str, bool]]
) -> None:
    """`marts.fct_contact_permissions` holding (channel, address, is_sendable) rows."""
    rows = [
        {"channel": c, "address": a, "customer_id": None, "is_sendable": s}
        for c, a, s in permissions
    ]
    con.execute("create schema if not exists marts")
    con.register("_test_permissions", pa.Table.from_pylist(rows, schema=PERMISSIONS_SCHEMA))
    con.execute(
        "create or replace table marts.fct_contact_permissions as select * from _test_permissions"
    )
    con.unregister("_test_permissions")


def permit(
    rows: Iterable[Mapping[str, Any]], refused: Iterable[str] = ()
) -> list[tuple[str, str, bool]]:
    """A permission row for every row's (channel, address): sendable unless its customer is in
    `refused`."""
    refused = set(refused)
    return [(r["channel"], r["address"], r["customer_id"] not in refused) for r in rows]


def sync_spec(
    emulator: RunningEmulator,
    provider: str,
    *,
    name: str,
    fields: Mapping[str, str],
    source: str = "aud_members",
    mode: str = "mirror",
    primary_key: str | Sequence[str] = "customer_id",
    where: str | None = None,
    consent: bool = True,
    cap: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
    retry: Mapping[str, Any] | None = None,
    **destination: Any,
) -> SyncSpec:
    """A sync of `source` to the emulator's `provider` (fast retries, the consent gate on)."""
    raw: dict[str, Any] = {
        "name": name,
        "source": source,
        "destination": emulator.destination_settings(provider, **destination),
        "mode": mode,
        "primary_key": primary_key if isinstance(primary_key, str) else list(primary_key),
        "fields": dict(fields),
        "retry": {**FAST_RETRY, **(retry or {})},
    }
    if where is not None:
        raw["where"] = where
    if consent:
        raw["consent_gate"] = {"channel": "channel", "address": "address"}
    if cap is not None:
        raw["frequency_cap"] = {"customer": "customer_id", "channel": "channel", **cap}
    if batch_size is not None:
        raw["batch_size"] = batch_size
    return parse_sync(raw)


@contextmanager
def emulator_environment(emulator: RunningEmulator) -> Iterator[None]:
    """The demo secrets the emulator's destination settings name, set for the block."""
    values = emulator.environment()
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def deliverable(
    rows: Iterable[Mapping[str, Any]], refused: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The rows a sync must deliver: not holdout, customer not refused by the permissions."""
    refused = set(refused)
    return [dict(r) for r in rows if not r["is_holdout"] and r["customer_id"] not in refused]


def webhook_expected(
    rows: Iterable[Mapping[str, Any]], fields: Mapping[str, str], key: str = "customer_id"
) -> dict[str, dict[str, Any]]:
    """What a webhook receiver must hold for these rows: key -> mapped fields."""
    return {r[key]: {field: r[column] for field, column in fields.items()} for r in rows}


def braze_expected(
    rows: Iterable[Mapping[str, Any]], fields: Mapping[str, str], attribute: str
) -> dict[str, dict[str, Any]]:
    """What Braze must hold for these members: external id -> attributes and membership."""
    return {
        r["customer_id"]: {
            "external_id": r["customer_id"],
            **{field: r[column] for field, column in fields.items()},
            attribute: True,
        }
        for r in rows
    }


def snapshot_keys(con: duckdb.DuckDBPyConnection, sync: str) -> set[str]:
    rows = con.execute(
        "select record_key from reverse_etl.snapshots where sync_name = ?", [sync]
    ).fetchall()
    return {row[0] for row in rows}


def failures(con: duckdb.DuckDBPyConnection, sync: str) -> dict[str, dict[str, Any]]:
    """The failures table of one sync: key -> its row."""
    table = con.sql(
        "select * from reverse_etl.failures where sync_name = ? order by record_key",
        params=[sync],
    ).to_arrow_table()
    return {row["record_key"]: row for row in table.to_pylist()}


def run_log(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """The `reverse_etl.sync_runs` row of one run."""
    rows = con.sql("select * from reverse_etl.sync_runs where run_id = ?", params=[run_id])
    found = rows.to_arrow_table().to_pylist()
    assert len(found) == 1, f"{len(found)} log rows for run {run_id}"
    return found[0]


def raw_contacts(text: str) -> list[str]:
    """E-mail addresses and E.164 phone numbers appearing in `text`."""
    return RAW_EMAIL.findall(text) + RAW_PHONE.findall(text)
