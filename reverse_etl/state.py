"""What the sync engine remembers, in the warehouse itself (schema `reverse_etl`).

- `snapshots`: per sync, every record the destination confirmed, with the hash of the fields
  it confirmed. The next run sends only what differs from it; it advances only on
  confirmation, so a crash loses nothing.
- `failures`: records that still failed after every retry, with the reason; they are part of
  the next run's changes again (they differ from the snapshot) and counted as retried. A
  record `in_doubt` (sent to a destination that is not idempotent, no answer) is held
  instead: it may have arrived, so it waits for an operator (`omni360 sync --in-doubt`).
- `in_flight`: for destinations that are not idempotent, the records of a batch are written
  here before it is sent and leave when it is answered; rows left by a killed run become
  in-doubt failures, so a crash never makes such a destination receive a message twice.
- `departures`: per sync, how often a record left the destination (a confirmed delete, or
  forgotten in insert mode). It is part of the idempotency key of the record's next arrival, so
  a member who comes back is not taken for a re-send by a receiver that deduplicates.
- `sends`: the confirmed messages of frequency-capped syncs, per customer and channel.
- `sync_runs`: one row per run: the counts, the duration, the outcome.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

SCHEMA = "reverse_etl"

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.snapshots (
    sync_name varchar not null,
    record_key varchar not null,
    record_hash varchar not null,
    confirmed_at timestamptz not null,
    primary key (sync_name, record_key)
);
create table if not exists {SCHEMA}.failures (
    sync_name varchar not null,
    record_key varchar not null,
    operation varchar not null,
    record_hash varchar,
    reason varchar not null,
    in_doubt boolean not null default false,
    attempts integer not null,
    first_failed_at timestamptz not null,
    last_failed_at timestamptz not null,
    primary key (sync_name, record_key)
);
create table if not exists {SCHEMA}.in_flight (
    sync_name varchar not null,
    record_key varchar not null,
    record_hash varchar not null,
    operation varchar not null,
    sent_at timestamptz not null,
    primary key (sync_name, record_key)
);
create table if not exists {SCHEMA}.departures (
    sync_name varchar not null,
    record_key varchar not null,
    departures integer not null,
    primary key (sync_name, record_key)
);
create table if not exists {SCHEMA}.sends (
    sync_name varchar not null,
    record_key varchar not null,
    customer_id varchar not null,
    channel varchar,
    sent_at timestamptz not null
);
create table if not exists {SCHEMA}.sync_runs (
    run_id varchar primary key,
    sync_name varchar not null,
    destination_kind varchar not null,
    mode varchar not null,
    dry_run boolean not null,
    status varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    duration_seconds double,
    source_rows bigint,
    holdout_skipped bigint,
    consent_blocked bigint,
    frequency_capped bigint,
    held_in_doubt bigint,
    added bigint,
    changed bigint,
    removed bigint,
    retried bigint,
    confirmed bigint,
    failed bigint,
    in_doubt bigint,
    requests bigint,
    throttled bigint,
    request_retries bigint,
    error varchar
);
"""

# The columns of a flush's confirmation and failure tables.
CONFIRMED_SCHEMA = pa.schema(
    [
        ("record_key", pa.string()),
        ("record_hash", pa.string()),
        ("operation", pa.string()),
        ("customer_id", pa.string()),
        ("channel", pa.string()),
    ]
)
FAILED_SCHEMA = pa.schema(
    [
        ("record_key", pa.string()),
        ("record_hash", pa.string()),
        ("operation", pa.string()),
        ("reason", pa.string()),
        ("in_doubt", pa.bool_()),
    ]
)


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection, sync_name: str) -> int:
    """Runs of this sync still 'running' were cut short (killed): say so in the log."""
    rows = con.execute(
        f"""
        update {SCHEMA}.sync_runs
        set status = 'interrupted', error = 'the process stopped before the run finished'
        where sync_name = ? and status = 'running'
        returning run_id
        """,
        [sync_name],
    ).fetchall()
    return len(rows)


def record_outcomes(
    con: duckdb.DuckDBPyConnection,
    sync_name: str,
    confirmed: pa.Table,
    failed: pa.Table,
    *,
    record_sends: bool,
) -> None:
    """Advance the snapshot for confirmed records and store the failed ones, in one
    transaction: either all of a flush is remembered or none of it."""
    con.begin()
    try:
        if confirmed.num_rows:
            con.register("confirmed_records", confirmed)
            con.execute(
                f"""
                insert or replace into {SCHEMA}.snapshots
                select ?, record_key, record_hash, now()
                from confirmed_records where operation <> 'delete'
                """,
                [sync_name],
            )
            con.execute(
                f"""
                delete from {SCHEMA}.snapshots
                where sync_name = ? and record_key in (
                    select record_key from confirmed_records where operation = 'delete'
                )
                """,
                [sync_name],
            )
            _count_departures(
                con,
                sync_name,
                "select record_key from confirmed_records where operation = 'delete'",
            )
            con.execute(
                f"""
                delete from {SCHEMA}.failures
                where sync_name = ?
                    and record_key in (select record_key from confirmed_records)
                """,
                [sync_name],
            )
            if record_sends:
                con.execute(
                    f"""
                    insert into {SCHEMA}.sends
                    select ?, record_key, customer_id, channel, now()
                    from confirmed_records
                    where operation <> 'delete' and customer_id is not null
                    """,
                    [sync_name],
                )
            con.unregister("confirmed_records")
        if failed.num_rows:
            con.register("failed_records", failed)
            con.execute(
                f"""
                insert into {SCHEMA}.failures as previous
                select ?, record_key, operation, record_hash, reason, in_doubt, 1, now(), now()
                from failed_records
                on conflict (sync_name, record_key) do update set
                    operation = excluded.operation,
                    record_hash = excluded.record_hash,
                    reason = excluded.reason,
                    in_doubt = excluded.in_doubt,
                    attempts = previous.attempts + 1,
                    last_failed_at = excluded.last_failed_at
                """,
                [sync_name],
            )
            con.unregister("failed_records")
        for name, table in (("answered_confirmed", confirmed), ("answered_failed", failed)):
            if table.num_rows:
                con.register(name, table.select(["record_key"]))
                con.execute(
                    f"""
                    delete from {SCHEMA}.in_flight
                    where sync_name = ? and record_key in (select record_key from {name})
                    """,
                    [sync_name],
                )
                con.unregister(name)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _count_departures(con: duckdb.DuckDBPyConnection, sync_name: str, keys_query: str) -> None:
    """One more departure for each record key `keys_query` selects."""
    con.execute(
        f"""
        insert into {SCHEMA}.departures as previous
        select ?, record_key, 1 from ({keys_query})
        on conflict (sync_name, record_key) do update set
            departures = previous.departures + 1
        """,
        [sync_name],
    )


def forget_removed(con: duckdb.DuckDBPyConnection, sync_name: str, keys: pa.Table) -> None:
    """Insert mode: records that left the source leave the snapshot (no call is made), so a
    member who comes back later is a new record and gets a new message."""
    con.register("removed_records", keys)
    con.begin()
    try:
        con.execute(
            f"""
            delete from {SCHEMA}.snapshots
            where sync_name = ? and record_key in (select record_key from removed_records)
            """,
            [sync_name],
        )
        _count_departures(con, sync_name, "select record_key from removed_records")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.unregister("removed_records")


def mark_in_flight(con: duckdb.DuckDBPyConnection, sync_name: str, records: pa.Table) -> None:
    """Remember (committed) that these records are about to be sent."""
    con.register("outgoing_records", records)
    con.execute(
        f"""
        insert or replace into {SCHEMA}.in_flight
        select ?, record_key, record_hash, operation, now() from outgoing_records
        """,
        [sync_name],
    )
    con.unregister("outgoing_records")


def settle_interrupted_sends(con: duckdb.DuckDBPyConnection, sync_name: str) -> int:
    """Records a killed run left in flight become in-doubt failures (held, not re-sent)."""
    con.begin()
    try:
        moved = con.execute(
            f"""
            insert or replace into {SCHEMA}.failures
            select sync_name, record_key, operation, record_hash,
                'in doubt: the run stopped while it was being sent; it may have been delivered',
                true, 1, sent_at, now()
            from {SCHEMA}.in_flight where sync_name = ?
            returning record_key
            """,
            [sync_name],
        ).fetchall()
        con.execute(f"delete from {SCHEMA}.in_flight where sync_name = ?", [sync_name])
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return len(moved)


def resolve_in_doubt(con: duckdb.DuckDBPyConnection, sync_name: str, *, delivered: bool) -> int:
    """An operator's decision on the held records: `delivered` moves them into the snapshot
    (they arrived), otherwise they are released to be sent again on the next run."""
    con.begin()
    try:
        if delivered:
            con.execute(
                f"""
                insert or replace into {SCHEMA}.snapshots
                select sync_name, record_key, record_hash, now()
                from {SCHEMA}.failures
                where sync_name = ? and in_doubt and operation <> 'delete'
                """,
                [sync_name],
            )
        released = con.execute(
            f"delete from {SCHEMA}.failures where sync_name = ? and in_doubt returning record_key",
            [sync_name],
        ).fetchall()
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return len(released)
