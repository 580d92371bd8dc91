"""Removing a person from the warehouse: raw rows, quarantine, every built table.

In one transaction:

1. **raw**: the rows of the person's records (by each source's record key, order lines and
   ticket contacts with their order and ticket), and any row whose personal columns hold one of
   the person's identifiers as written (token form) or, for a phone, its digits in a national
   format;
2. **quarantine**: rows whose text mentions one of those identifiers;
3. **built tables** (staging, intermediate, marts, audiences: every base table outside `raw`,
   `privacy`, `reverse_etl` and the seeds): rows whose person columns (`PERSON_COLUMNS`) hold
   one of the person's customer ids, identifiers or record ids, or whose graph columns
   (`NODE_COLUMNS`) one of their nodes. Views follow their tables;
4. **suppression**: the removed raw rows' record hashes and the salted hashes of the person's
   identifiers (every form seen), so that a re-delivered file does not bring them back.

Aggregates (KPIs, cohorts, summaries) hold no row about anyone and are left as they are: the
next build recomputes them without the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from omni360.contract import SOURCES, Source
from omni360.db import relation_exists
from omni360.ingestion.schema import QUARANTINE_TABLE, RAW_SCHEMA, ensure_raw_schema, raw_table
from omni360.privacy.person import MIN_PHONE_DIGITS, Person
from omni360.privacy.schema import (
    SCHEMA,
    SUPPRESSED_IDENTIFIERS,
    SUPPRESSED_RECORDS,
    ensure_privacy_schema,
    hashed_sql,
    salt,
    token_sql,
)
from omni360.privacy.suppression import PAYLOAD_IDENTIFIERS, TEXT_TOKENS

# Columns of built tables that hold a customer id, an identifier or a source record's id.
PERSON_COLUMNS = frozenset(
    {
        "customer_id",
        "from_customer_id",
        "to_customer_id",
        "surviving_customer_id",
        "visitor_id",
        "anonymous_id",
        "user_id",
        "device_id",
        "push_token",
        "email",
        "phone",
        "loyalty_card_id",
        "telegram_id",
        "viber_id",
        "crm_contact_id",
        "contact_id",
        "identifier",
        "identifier_a",
        "identifier_b",
        "anchor_identifier",
        "identifier_as_delivered",
        "address",
        "recipient",
        "recipient_email",
        "recipient_phone",
        "primary_email",
        "primary_phone",
        "primary_user_id",
        "primary_loyalty_card_id",
        "primary_telegram_id",
        "primary_viber_id",
        "primary_crm_contact_id",
        "record_id",
        "owner_record_id",
        "event_id",
        "order_id",
        "ticket_id",
        "response_id",
        "consent_id",
        "message_event_id",
        "message_id",
        "journey_id",
    }
)
# Raw columns that may hold a phone number (written in any format).
PHONE_COLUMNS = frozenset({"phone", "recipient", "identifier"})
# Columns of built tables that hold a node of the identity graph.
NODE_COLUMNS = frozenset({"node_id", "node_a", "node_b"})
# Schemas never searched for built tables: the loader's, the erasure's own, the sync engine's
# (its state is cleared with the destinations) and the seeds (reference data, not people).
NOT_BUILT = frozenset({RAW_SCHEMA, SCHEMA, "reverse_etl", "seeds", "information_schema"})


@dataclass
class Erased:
    """What one erasure removed from the warehouse."""

    rows_by_table: dict[str, int] = field(default_factory=dict)
    suppressed_records: int = 0
    suppressed_identifiers: int = 0

    @property
    def rows(self) -> int:
        return sum(self.rows_by_table.values())

    def count(self, table: str, rows: int) -> None:
        if rows:
            self.rows_by_table[table] = self.rows_by_table.get(table, 0) + rows


def _fill(con: duckdb.DuckDBPyConnection, table: str, columns: str, rows: list) -> None:
    con.execute(f"create or replace temp table {table} ({columns})")
    if rows:
        con.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)


def _stage_person(con: duckdb.DuckDBPyConnection, person: Person, given: str) -> None:
    """The person as temp tables: `_forget_records`, `_forget_values`, `_forget_nodes`,
    `_forget_tokens` (identifiers as written), `_forget_phones` (digits)."""
    _fill(con, "_forget_records", "source_name varchar, record_id varchar", sorted(person.records))
    values = (
        person.customer_ids | {v for _, v in person.identifiers} | {r for _, r in person.records}
    )
    _fill(con, "_forget_values", "value varchar", [(v,) for v in sorted(values)])
    _fill(con, "_forget_nodes", "node_id bigint", [(n,) for n in sorted(person.node_ids)])
    _fill(con, "_forget_tokens", "token varchar", [])
    con.executemany(
        f"insert into _forget_tokens select {token_sql('?')}",
        [(v,) for v in sorted({v for _, v in person.identifiers} | {given})],
    )
    phones = {v for t, v in person.identifiers if t == "phone"}
    _fill(con, "_forget_phones", "digits varchar", [(p.lstrip("+"),) for p in sorted(phones)])
    # Message ids: one message to the person has several delivery events.
    if relation_exists(con, "staging", "stg_message_events"):
        con.execute(
            """
            insert into _forget_values
            select distinct message_id from staging.stg_message_events
            where message_event_id in (
                select record_id from _forget_records where source_name = 'message_events'
            ) and message_id is not null
            """
        )


def _belongs_sql(expression: str, may_be_phone: bool = True) -> str:
    """True when a raw value is one of the person's identifiers as written, or (a column that
    may hold a phone) a phone whose digits, without leading zeros (7 or more), end one of the
    person's phones: the national format of the same number."""
    written = f"{token_sql(expression)} in (select token from _forget_tokens)"
    if not may_be_phone:
        return f"({written})"
    digits = f"ltrim(regexp_replace({expression}, '[^0-9]', '', 'g'), '0')"
    return f"""(
        {written}
        or (
            not regexp_matches({expression}, '[A-Za-z@]')
            and length({digits}) >= {MIN_PHONE_DIGITS}
            and exists (select 1 from _forget_phones where ends_with(digits, {digits}))
        )
    )"""


def _belongs_column_sql(name: str) -> str:
    return f"coalesce({_belongs_sql(f'{chr(34)}{name}{chr(34)}', name in PHONE_COLUMNS)}, false)"


def _raw_condition(source: Source) -> str | None:
    conditions = []
    if source.record_key and source.record_of:
        conditions.append(
            f'trim("{source.record_key}") in (select record_id from _forget_records '
            f"where source_name = '{source.record_of}')"
        )
    conditions += [_belongs_column_sql(name) for name in source.personal_columns]
    return " or ".join(conditions) if conditions else None


def _collect_raw(con: duckdb.DuckDBPyConnection) -> None:
    """`_forget_raw`: (source, record hash) of every raw row to remove; the identifiers as
    written in them join `_forget_tokens`."""
    con.execute("create or replace temp table _forget_raw (source varchar, record_hash varchar)")
    for source in SOURCES.values():
        condition = _raw_condition(source)
        if condition is None:
            continue
        table = raw_table(source)
        con.execute(
            f"insert into _forget_raw select '{source.name}', _record_hash from {table} "
            f"where {condition}"
        )
        if source.personal_columns:  # one pass over the table for all its personal columns
            written = ", ".join(
                f"""case when {_belongs_column_sql(name)} then {token_sql(f'"{name}"')} end"""
                for name in source.personal_columns
            )
            con.execute(
                f"""
                insert into _forget_tokens
                select distinct token from (
                    select unnest([{written}]) as token from {table}
                    where _record_hash in (
                        select record_hash from _forget_raw where source = '{source.name}'
                    )
                )
                where token is not null
                """
            )
        if source.is_events:
            con.execute(
                f"""
                insert into _forget_tokens
                select distinct {token_sql("value")}
                from (
                    select unnest(regexp_extract_all(payload, {PAYLOAD_IDENTIFIERS}, 1)) as value
                    from {table}
                    where _record_hash in (
                        select record_hash from _forget_raw where source = 'events'
                    )
                )
                where coalesce({_belongs_sql("value")}, false)
                """
            )


def _delete_raw(con: duckdb.DuckDBPyConnection, erased: Erased) -> None:
    for source in SOURCES.values():
        if _raw_condition(source) is None:
            continue
        table = raw_table(source)
        deleted = con.execute(
            f"delete from {table} where _record_hash in "
            f"(select record_hash from _forget_raw where source = '{source.name}')"
        ).fetchone()[0]
        erased.count(table, deleted)
    tokens = (
        f"list_concat(regexp_extract_all(lower(raw_text), {TEXT_TOKENS}), "
        f"regexp_extract_all(lower(regexp_replace(raw_text, '[\\s()-]', '', 'g')), "
        f"{TEXT_TOKENS}))"
    )
    deleted = con.execute(
        f"""
        delete from {QUARANTINE_TABLE}
        where list_has_any(
            list_transform({tokens}, lambda v: {token_sql("v")}),
            (select list(token) from _forget_tokens)
        )
        """
    ).fetchone()[0]
    erased.count(QUARANTINE_TABLE, deleted)


def _built_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every base table outside `NOT_BUILT` with person or node columns: its columns."""
    tables: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        """
        select table_schema, table_name, column_name
        from information_schema.columns
        inner join information_schema.tables using (table_catalog, table_schema, table_name)
        where table_type = 'BASE TABLE' and table_catalog = current_database()
        order by table_schema, table_name, ordinal_position
        """
    ).fetchall():
        if schema in NOT_BUILT or column not in PERSON_COLUMNS | NODE_COLUMNS:
            continue
        tables.setdefault(f'"{schema}"."{table}"', []).append(column)
    return tables


def _delete_built(con: duckdb.DuckDBPyConnection, erased: Erased) -> None:
    for table, columns in _built_tables(con).items():
        conditions = [
            f'"{c}" in (select node_id from _forget_nodes)'
            if c in NODE_COLUMNS
            else f'cast("{c}" as varchar) in (select value from _forget_values)'
            for c in columns
        ]
        deleted = con.execute(f"delete from {table} where {' or '.join(conditions)}").fetchone()[0]
        erased.count(table.replace('"', ""), deleted)


def _suppress(con: duckdb.DuckDBPyConnection, erasure_id: str, erased: Erased) -> None:
    salt_value = salt(con)
    erased.suppressed_records = con.execute(
        f"""
        insert or ignore into {SUPPRESSED_RECORDS}
        select distinct record_hash, source, ? from _forget_raw
        """,
        [erasure_id],
    ).fetchone()[0]
    erased.suppressed_identifiers = con.execute(
        f"""
        insert or ignore into {SUPPRESSED_IDENTIFIERS}
        select distinct {hashed_sql("token", salt_value)}, ? from _forget_tokens
        where length(token) > 0
        """,
        [erasure_id],
    ).fetchone()[0]


def erase_person(
    con: duckdb.DuckDBPyConnection, person: Person, given: str, erasure_id: str
) -> Erased:
    """Remove the person from the warehouse and suppress them, in the caller's transaction."""
    ensure_raw_schema(con)
    ensure_privacy_schema(con)
    erased = Erased()
    _stage_person(con, person, given)
    _collect_raw(con)
    _delete_raw(con, erased)
    _delete_built(con, erased)
    _suppress(con, erasure_id, erased)
    for table in ("_forget_records", "_forget_values", "_forget_nodes", "_forget_phones"):
        con.execute(f"drop table if exists {table}")
    con.execute("drop table if exists _forget_raw")
    con.execute("drop table if exists _forget_tokens")
    return erased
