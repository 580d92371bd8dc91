"""The `privacy` schema: the erasure audit and the suppression lists that keep erased people out.

- `erasures`: one row per `omni360 forget`: when, a salted hash of the identifier given (never
  the identifier), what was found and removed, what each destination answered.
- `suppressed_records`: the `_record_hash` of every raw row an erasure removed: the same record
  delivered again is quarantined, not loaded.
- `suppressed_identifiers`: salted hashes of the erased person's identifiers, in the loose
  "token" form below: a new row that carries one of them is quarantined too.
- `salt`: the salt of those hashes, made once per warehouse (or `OMNI360_ERASURE_SALT`, to keep
  it outside the warehouse). Unsalted SHA-256 of an e-mail address is undone by a dictionary.
"""

from __future__ import annotations

import os
import secrets

import duckdb

SCHEMA = "privacy"
ERASURES = f"{SCHEMA}.erasures"
SUPPRESSED_RECORDS = f"{SCHEMA}.suppressed_records"
SUPPRESSED_IDENTIFIERS = f"{SCHEMA}.suppressed_identifiers"
SALT_TABLE = f"{SCHEMA}.salt"
SALT_ENV = "OMNI360_ERASURE_SALT"

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {ERASURES} (
    erasure_id varchar primary key,
    requested_at timestamp not null,
    completed_at timestamp,
    identifier_type varchar,
    identifier_hash varchar not null,
    status varchar not null,
    customers_found integer not null,
    identifiers_found integer not null,
    records_found integer not null,
    rows_deleted bigint not null,
    rows_deleted_by_table json,
    destinations json
);
create table if not exists {SUPPRESSED_RECORDS} (
    record_hash varchar primary key,
    source varchar not null,
    erasure_id varchar not null
);
create table if not exists {SUPPRESSED_IDENTIFIERS} (
    identifier_hash varchar primary key,
    erasure_id varchar not null
);
create table if not exists {SALT_TABLE} (salt varchar not null);
"""


def ensure_privacy_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def salt(con: duckdb.DuckDBPyConnection) -> str:
    """The salt of identifier hashes: the environment's, else the warehouse's (made once)."""
    from_environment = os.environ.get(SALT_ENV)
    if from_environment:
        return from_environment
    ensure_privacy_schema(con)
    row = con.execute(f"select salt from {SALT_TABLE}").fetchone()
    if row:
        return str(row[0])
    made = secrets.token_hex(16)
    con.execute(f"insert into {SALT_TABLE} values (?)", [made])
    return made


def token_sql(expression: str) -> str:
    """The loose form an identifier is compared in: trimmed, lower-case, without blanks,
    brackets and dashes (`+380 (67) 123-45-67` and `+380671234567` are one token)."""
    return f"lower(regexp_replace(trim({expression}), '[\\s()-]', '', 'g'))"


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def hashed_sql(expression: str, salt_value: str) -> str:
    """SQL for the salted SHA-256 of the token form of `expression`."""
    return f"sha256({literal(salt_value)} || {token_sql(expression)})"
