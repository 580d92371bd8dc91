"""Who is to be forgotten: from one identifier, through the identity graph, to everything that
is about that person.

The identifier is looked up in `dim_customer_identifiers` as given (trimmed, any case) or, for
a phone, by its digits (`067 123 45 67` finds `+380671234567`: the national number's digits end
the international one's). The person is the customer it belongs to, with every id that
customer has had (merges), every identifier stitched to them, and every source record that
carries one of those identifiers or was attributed to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import duckdb

from omni360.db import relation_exists

DIM_IDENTIFIERS = "marts.dim_customer_identifiers"
OBSERVATIONS = "intermediate.int_identity__observations"
RECORD_CUSTOMERS = "intermediate.int_identity__record_customers"
CUSTOMER_IDS = "intermediate.int_identity__customer_ids"
MERGES = "marts.fct_customer_merges"
MIN_PHONE_DIGITS = 7


class ForgetError(ValueError):
    """The identifier cannot be resolved to one person (ambiguous, shared, malformed)."""


@dataclass
class Person:
    """Everything the warehouse knows that identifies one person."""

    given_type: str | None
    customer_ids: set[str] = field(default_factory=set)
    identifiers: set[tuple[str, str]] = field(default_factory=set)  # (type, value)
    node_ids: set[int] = field(default_factory=set)
    records: set[tuple[str, str]] = field(default_factory=set)  # (graph source, record id)

    @property
    def found(self) -> bool:
        return bool(self.customer_ids or self.identifiers)

    def values(self, identifier_type: str) -> list[str]:
        return sorted(v for t, v in self.identifiers if t == identifier_type)


def _matches(
    con: duckdb.DuckDBPyConnection, identifier: str, identifier_type: str | None
) -> list[tuple[str | None, str, str, bool]]:
    """Rows of the identifier dimension the given identifier names: (customer, type, value,
    is_shared)."""
    digits = re.sub(r"\D", "", identifier).lstrip("0")
    by_digits = len(digits) >= MIN_PHONE_DIGITS and not re.search(r"[A-Za-z@]", identifier)
    return con.execute(
        f"""
        select customer_id, identifier_type, identifier, is_shared
        from {DIM_IDENTIFIERS}
        where (? is null or identifier_type = ?)
          and (
            lower(identifier) = lower(trim(?))
            or (? and identifier_type = 'phone'
                and regexp_replace(identifier, '[^0-9]', '', 'g') like '%' || ?)
          )
        order by identifier_type, identifier
        """,
        [identifier_type, identifier_type, identifier, by_digits, digits],
    ).fetchall()


def _choose(matches: list[tuple[str | None, str, str, bool]], identifier_type: str | None) -> str:
    """The one customer the matches name, or a clear refusal."""
    customers = {customer for customer, _, _, shared in matches if customer and not shared}
    if len(customers) == 1:
        return customers.pop()
    if not customers and any(shared for *_, shared in matches):
        raise ForgetError(
            "this identifier is shared by several people (a shared device, a family address): "
            "give an identifier that belongs to the person alone"
        )
    kinds = sorted({t for _, t, _, _ in matches})
    hint = "" if identifier_type else f"; name its type with --type ({', '.join(kinds)})"
    raise ForgetError(f"this identifier matches {len(customers)} customers{hint}")


def _customer_ids(con: duckdb.DuckDBPyConnection, customer_id: str) -> set[str]:
    """The customer's id and every id merged into it or split from it, transitively."""
    known = {customer_id}
    frontier = {customer_id}
    while frontier:
        rows = con.execute(
            f"""
            select customer_id from {CUSTOMER_IDS}
            where component_id in (
                select component_id from {CUSTOMER_IDS} where list_contains(?, customer_id)
            )
            union select from_customer_id from {MERGES} where list_contains(?, to_customer_id)
            union select to_customer_id from {MERGES} where list_contains(?, from_customer_id)
            """,
            [sorted(frontier)] * 3,
        ).fetchall()
        found = {row[0] for row in rows if row[0]} - known
        known |= found
        frontier = found
    return known


def resolve(
    con: duckdb.DuckDBPyConnection, identifier: str, identifier_type: str | None = None
) -> Person:
    """The person the identifier names; an empty `Person` when the graph does not know it."""
    if not identifier.strip():
        raise ForgetError("the identifier is empty")
    person = Person(identifier_type)
    if not relation_exists(con, *DIM_IDENTIFIERS.split(".")):
        return person
    matches = _matches(con, identifier, identifier_type)
    if not matches:
        return person
    person.customer_ids = _customer_ids(con, _choose(matches, identifier_type))
    ids = sorted(person.customer_ids)
    for kind, value, node_id in con.execute(
        f"select identifier_type, identifier, node_id from {DIM_IDENTIFIERS} "
        "where list_contains(?, customer_id)",
        [ids],
    ).fetchall():
        person.identifiers.add((kind, value))
        person.node_ids.add(int(node_id))
    con.execute(
        "create or replace temp table _forget_identifiers "
        "(identifier_type varchar, identifier varchar)"
    )
    con.executemany("insert into _forget_identifiers values (?, ?)", sorted(person.identifiers))
    person.records = {
        (source, record)
        for source, record in con.execute(
            f"""
            select source_name, record_id
            from {OBSERVATIONS} inner join _forget_identifiers using (identifier_type, identifier)
            union
            select source_name, record_id from {RECORD_CUSTOMERS}
            where list_contains(?, customer_id)
            """,
            [ids],
        ).fetchall()
    }
    con.execute("drop table _forget_identifiers")
    return person
