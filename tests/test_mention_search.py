"""The erasure's proof searches every text column for the person's identifiers as tokens:
an identifier inside a longer run of letters and digits (a random run id, a longer id) is
somebody else's text, an identifier between punctuation, spaces or a column's edges is hers."""

from __future__ import annotations

import duckdb
import pytest

from omni360.privacy.search import find_mentions

NEEDLES = {"C-1", "777001", "+380675551983", "(067) 555-19-83", "olena.k@gmail.com"}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("create schema raw")
    connection.execute("create table raw.texts (id integer, body varchar, payload json)")
    return connection


@pytest.mark.parametrize(
    "body",
    [
        "C-1",
        '{"crm_contact_id": "c-1"}',
        "contact C-1, called twice",
        "chat 777001",
        "tel:+380675551983;",
        "x(067) 555-19-83",
        "OLENA.K@GMAIL.COM",
        "ід:C-1",
    ],
)
def test_an_identifier_standing_as_a_token_is_found(
    con: duckdb.DuckDBPyConnection, body: str
) -> None:
    con.execute("insert into raw.texts values (1, ?, null)", [body])
    assert find_mentions(con, NEEDLES) == {"raw.texts.body": 1}


@pytest.mark.parametrize(
    "body",
    [
        "8da60a50-c779-4872-ae83-14105fc-1a0e4",  # a run id holding "c-1"
        "C-12",
        "abc-1",
        "ґc-1",  # a letter of another script glued to it
        "+3806755519830",
        "9777001",
        "nolena.k@gmail.com",
    ],
)
def test_an_identifier_inside_a_longer_token_is_not_a_mention(
    con: duckdb.DuckDBPyConnection, body: str
) -> None:
    con.execute("insert into raw.texts values (1, ?, null)", [body])
    assert find_mentions(con, NEEDLES) == {}


def test_json_and_node_columns_are_searched(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create table raw.graph (node_id bigint)")
    con.execute("insert into raw.graph values (42), (43)")
    con.execute("""insert into raw.texts values (1, 'nothing', '{"phone": "+380675551983"}')""")
    assert find_mentions(con, NEEDLES, {42}) == {"raw.texts.payload": 1, "raw.graph.node_id": 1}
