"""Searching the whole warehouse for a person: every text column of every table, every node id.

The proof of an erasure: after `omni360 forget`, no column anywhere (raw payloads and
quarantined text included) may still contain one of the person's identifiers or customer ids,
and no graph column one of their nodes. An identifier counts where it stands as a token of its
own: a crm contact id `C-1` is in `{"crm_contact_id": "C-1"}`, not in a run id that happens to
hold `…fc-1a…`. The search reads every row of every table, so it costs a scan of the
warehouse; `omni360 forget --verify` runs it.
"""

from __future__ import annotations

import re

import duckdb

# Tables whose content is not about people: the seeds are files the operator owns (remove a
# person from them in the repository), the erasure's own tables hold salted hashes only.
NOT_SEARCHED = frozenset({"privacy", "seeds", "information_schema", "pg_catalog"})
TEXT_TYPES = ("VARCHAR", "JSON")
NODE_TYPES = ("BIGINT", "HUGEINT", "UBIGINT")
# Neither a letter nor a digit, in any script (RE2's Unicode classes), or the text's edge.
_BEFORE, _AFTER = r"(?:^|[^\pL\pN])", r"(?:$|[^\pL\pN])"


def token_pattern(needles: set[str]) -> str:
    """A regular expression for any needle (lower case) that is not part of a longer run of
    letters and digits: an edge of a needle that is a letter or digit must meet a non-letter,
    non-digit or the text's edge."""
    alternatives = []
    for needle in sorted({n.lower() for n in needles if n}):
        before = _BEFORE if needle[0].isalnum() else ""
        after = _AFTER if needle[-1].isalnum() else ""
        alternatives.append(f"{before}{re.escape(needle)}{after}")
    return "|".join(alternatives)


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    tables: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        """
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        inner join information_schema.tables using (table_catalog, table_schema, table_name)
        where table_type = 'BASE TABLE' and table_catalog = current_database()
        order by table_schema, table_name, ordinal_position
        """
    ).fetchall():
        if schema not in NOT_SEARCHED:
            tables.setdefault(f'"{schema}"."{table}"', []).append((column, data_type))
    return tables


def find_mentions(
    con: duckdb.DuckDBPyConnection, needles: set[str], node_ids: set[int] = frozenset()
) -> dict[str, int]:
    """Rows that still mention any needle (case-insensitive, as a token of a text column) or
    node id (a whole-number column equal to it), per `schema.table.column`."""
    pattern = token_pattern(needles)
    nodes = sorted(node_ids)
    found: dict[str, int] = {}
    for table, columns in _columns(con).items():
        for column, data_type in columns:
            value = f'cast("{column}" as varchar)'
            if data_type in TEXT_TYPES and pattern:
                condition = f"regexp_matches(lower({value}), ?)"
                parameter: str | list[int] = pattern
            elif data_type in NODE_TYPES and nodes:
                condition, parameter = f'list_contains(?, "{column}")', nodes
            else:
                continue
            count = con.execute(
                f"select count(*) from {table} where {condition}", [parameter]
            ).fetchone()[0]
            if count:
                found[f"{table.replace(chr(34), '')}.{column}"] = count
    return found
