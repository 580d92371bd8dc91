"""Change data capture in DuckDB: the source against the last confirmed snapshot.

The source rows a sync may send (its filter, minus holdout members, minus what the consent
gate refuses) are hashed on the fields the destination receives. Against the snapshot of
what the destination confirmed:
- added: keys the snapshot lacks (in insert mode, only these are sent), minus members over
  the frequency cap;
- changed: keys whose hash differs (upsert and mirror modes);
- removed: snapshot keys the source no longer holds (mirror mode sends deletes; insert mode
  forgets them, so a member who comes back is new again).
Every change carries a `version`: the confirmation it starts from (the snapshot's
`confirmed_at`, or for a record the snapshot lacks, how often it left the destination). It goes
into the idempotency key, so a re-send of an unconfirmed change carries the same key, while a
record coming back to values (or to a membership) it had before gets a new one and is not
dropped by a receiver that deduplicates.
The changes land in a temporary table and are read back in Arrow batches, so memory stays
flat however large the audience is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from reverse_etl.config import SyncSpec
from reverse_etl.destinations.base import ConfigurationError, Mode, Operation
from reverse_etl.state import SCHEMA

PERMISSIONS_MODEL = "fct_contact_permissions"
HOLDOUT_COLUMN = "is_holdout"


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def resolve_relation(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """`schema.table` for a model name (or the name itself when it names its schema)."""
    if "." in name:
        schema, table = name.split(".", 1)
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
        if not found:
            raise ConfigurationError(f"relation {name} does not exist in the warehouse")
        return f"{quote(schema)}.{quote(table)}"
    schemas = [
        row[0]
        for row in con.execute(
            "select table_schema from information_schema.tables "
            "where table_name = ? and table_catalog = current_database() order by 1",
            [name],
        ).fetchall()
    ]
    if not schemas:
        raise ConfigurationError(
            f"model {name} is not built in the warehouse yet: run the pipeline first"
        )
    if len(schemas) > 1:
        raise ConfigurationError(f"model {name} exists in several schemas {schemas}: name one")
    return f"{quote(schemas[0])}.{quote(name)}"


def relation_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]


@dataclass(frozen=True)
class ChangeCounts:
    source_rows: int
    holdout_skipped: int
    consent_blocked: int
    null_keys: int
    duplicate_keys: int
    frequency_capped: int
    held_in_doubt: int  # records held after an unanswered send (never re-sent automatically)
    added: int
    changed: int
    removed: int
    retried: int
    to_send: int  # changes the destination will be sent (removals only in mirror mode)


@dataclass(frozen=True)
class ChangeSet:
    """The changes of one run, ready to be read in batches from `con`."""

    con: duckdb.DuckDBPyConnection
    table: str
    counts: ChangeCounts
    # Insert mode: keys that left the source, to forget once the run has sent its changes.
    forgotten: pa.Table

    def batches(self, rows: int) -> Iterator[pa.RecordBatch]:
        """The changes in key order (deletes last), `rows` at a time."""
        reader = self.con.sql(
            f"""
            select operation, record_key, record_hash, version, payload, customer_id, channel,
                is_retry
            from {self.table}
            order by case operation when 'delete' then 1 else 0 end, record_key
            """
        ).to_arrow_reader(rows)
        yield from reader

    def sample(self, per_operation: int) -> list[dict]:
        """A few changes of every operation (for a dry-run preview)."""
        return (
            self.con.sql(
                f"""
                select operation, record_key, payload from {self.table}
                qualify row_number() over (partition by operation order by record_key) <= ?
                order by operation, record_key
                """,
                params=[per_operation],
            )
            .to_arrow_table()
            .to_pylist()
        )


def _key_expression(spec: SyncSpec) -> str:
    parts = [f"cast(src.{quote(column)} as varchar)" for column in spec.primary_key]
    if len(parts) == 1:
        return parts[0]
    # Any part null makes the key null (counted, not sent); '|' joins the parts.
    return " || '|' || ".join(parts)


def _payload_expression(spec: SyncSpec) -> str:
    pairs = ", ".join(f"'{field}', src.{quote(column)}" for field, column in spec.fields.items())
    return f"cast(json_object({pairs}) as varchar)"


def capture_changes(con: duckdb.DuckDBPyConnection, spec: SyncSpec) -> ChangeSet:
    """Compare the sync's source with its snapshot; the changes go to a temporary table."""
    relation = resolve_relation(con, spec.source)
    columns = set(relation_columns(con, relation))
    missing = sorted(spec.source_columns - columns)
    if missing:
        raise ConfigurationError(f"sync '{spec.name}': columns {missing} are not in {spec.source}")
    where = f"({spec.where})" if spec.where else "true"
    holdout = f"coalesce(src.{HOLDOUT_COLUMN}, false)" if HOLDOUT_COLUMN in columns else "false"
    permitted = "true"
    if spec.consent_gate:
        permissions = resolve_relation(con, PERMISSIONS_MODEL)
        gate = spec.consent_gate
        permitted = f"""exists (
            select 1 from {permissions} as permission
            where permission.channel = src.{quote(gate.channel)}
                and permission.address = src.{quote(gate.address)}
                and permission.is_sendable
        )"""
    cap = spec.frequency_cap
    customer = f"cast(src.{quote(cap.customer)} as varchar)" if cap else "null"
    channel = f"cast(src.{quote(cap.channel)} as varchar)" if cap else "null"
    table = "_sync_changes"
    con.execute(
        f"""
        create or replace temp table _sync_source as
        select
            {_key_expression(spec)} as record_key,
            {_payload_expression(spec)} as payload,
            {customer} as customer_id,
            {channel} as channel,
            {holdout} as is_holdout,
            {permitted} as is_permitted
        from {relation} as src
        where {where}
        """
    )
    (source_rows, holdout_skipped, consent_blocked, null_keys) = con.execute(
        """
        select
            count(*),
            count(*) filter (where is_holdout),
            count(*) filter (where not is_holdout and not is_permitted),
            count(*) filter (where not is_holdout and is_permitted and record_key is null)
        from _sync_source
        """
    ).fetchall()[0]
    con.execute(
        """
        create or replace temp table _sync_current as
        select record_key, payload, md5(payload) as record_hash, customer_id, channel
        from _sync_source
        where not is_holdout and is_permitted and record_key is not null
        qualify row_number() over (partition by record_key order by payload) = 1
        """
    )
    current_rows = con.execute("select count(*) from _sync_current").fetchall()[0][0]
    duplicate_keys = source_rows - holdout_skipped - consent_blocked - null_keys - current_rows
    con.execute("drop table _sync_source")

    insert_op = Operation.INSERT if spec.mode is Mode.INSERT else Operation.UPSERT
    # New records of a customer beyond what the cap still allows in its window (earlier
    # confirmed sends, then this run's new records in key order) wait for a later run.
    capped = "false"
    recent_sends = "select null::varchar as customer_id, 0::bigint as sent where false"
    if cap:
        recent_sends = f"""
            select customer_id, count(*) as sent from {SCHEMA}.sends
            where sent_at > now() - interval {int(cap.days)} day
            group by customer_id"""
        capped = f"""added.customer_id is not null and coalesce(recent.sent, 0) + row_number()
            over (partition by added.customer_id order by added.record_key)
            > {int(cap.messages)}"""
    con.execute(
        f"""
        create or replace temp table _sync_added as
        with added as (
            select current_rows.*,
                'new:' || coalesce(departure.departures, 0) as version
            from _sync_current as current_rows
            anti join {SCHEMA}.snapshots as snapshot
                on snapshot.sync_name = $sync and snapshot.record_key = current_rows.record_key
            left join {SCHEMA}.departures as departure
                on departure.sync_name = $sync
                and departure.record_key = current_rows.record_key
        ),
        recent as ({recent_sends})
        select added.*, {capped} as is_capped
        from added
        left join recent on recent.customer_id = added.customer_id
        """,
        {"sync": spec.name},
    )
    changed_select = (
        f"""
        union all
        select '{Operation.UPSERT}', current_rows.record_key, current_rows.record_hash,
            'from:' || epoch_us(snapshot.confirmed_at), current_rows.payload,
            current_rows.customer_id, current_rows.channel
        from _sync_current as current_rows
        inner join {SCHEMA}.snapshots as snapshot
            on snapshot.sync_name = $sync and snapshot.record_key = current_rows.record_key
        where snapshot.record_hash <> current_rows.record_hash
        """
        if spec.mode is not Mode.INSERT
        else ""
    )
    removed_select = (
        f"""
        union all
        select '{Operation.DELETE}', snapshot.record_key, snapshot.record_hash,
            'from:' || epoch_us(snapshot.confirmed_at), null, null, null
        from {SCHEMA}.snapshots as snapshot
        anti join _sync_current as current_rows
            on current_rows.record_key = snapshot.record_key
        where snapshot.sync_name = $sync
        """
        if spec.mode is Mode.MIRROR
        else ""
    )
    con.execute(
        f"""
        create or replace temp table {table} as
        with changes as (
            select '{insert_op}' as operation, record_key, record_hash, version, payload,
                customer_id, channel
            from _sync_added
            where not is_capped
            {changed_select}
            {removed_select}
        )
        select changes.*, failure.record_key is not null as is_retry
        from changes
        left join {SCHEMA}.failures as failure
            on failure.sync_name = $sync and failure.record_key = changes.record_key
        where not coalesce(failure.in_doubt, false)
        """,
        {"sync": spec.name},
    )
    frequency_capped = con.execute(
        "select count(*) filter (where is_capped) from _sync_added"
    ).fetchall()[0][0]
    held_in_doubt = con.execute(
        f"select count(*) from {SCHEMA}.failures where sync_name = ? and in_doubt", [spec.name]
    ).fetchall()[0][0]
    added, changed, removed, retried, to_send = con.execute(
        f"""
        select
            count(*) filter (where operation in ('{Operation.INSERT}', '{Operation.UPSERT}')
                and record_key in (select record_key from _sync_added)),
            count(*) filter (where operation = '{Operation.UPSERT}'
                and record_key not in (select record_key from _sync_added)),
            count(*) filter (where operation = '{Operation.DELETE}'),
            count(*) filter (where is_retry),
            count(*)
        from {table}
        """
    ).fetchall()[0]
    forgotten = pa.table({"record_key": pa.array([], pa.string())})
    if spec.mode is Mode.INSERT:
        forgotten = con.sql(
            f"""
            select snapshot.record_key from {SCHEMA}.snapshots as snapshot
            anti join _sync_current as current_rows
                on current_rows.record_key = snapshot.record_key
            where snapshot.sync_name = ?
            """,
            params=[spec.name],
        ).to_arrow_table()
        removed = forgotten.num_rows
    con.execute("drop table _sync_added")
    con.execute("drop table _sync_current")
    counts = ChangeCounts(
        source_rows=source_rows,
        holdout_skipped=holdout_skipped,
        consent_blocked=consent_blocked,
        null_keys=null_keys,
        duplicate_keys=duplicate_keys,
        frequency_capped=frequency_capped,
        held_in_doubt=held_in_doubt,
        added=added,
        changed=changed,
        removed=removed,
        retried=retried,
        to_send=to_send,
    )
    return ChangeSet(con=con, table=table, counts=counts, forgotten=forgotten)
