"""The loader on hand-written landing files: exact counts, quarantine lines, idempotency."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from omni360.db import connect
from omni360.ingestion.discovery import LandingZoneError
from omni360.ingestion.loader import load_landing
from omni360.ingestion.report import source_totals

ORDERS_HEADER = (
    "order_id,ordered_at,channel,store_id,user_id,email,phone,loyalty_card_id,status,"
    "currency,total_amount,till_operator\n"
)
ORDERS_ROWS = [
    "o1,2026-10-01T10:00:00+03:00,web,,u1, A@B.com ,,,completed,UAH,100.50,x",  # line 2 ok
    "o2,2026-02-30T10:00:00Z,web,,u1,,,,completed,UAH,100.50,x",  # 3 impossible date
    "o3,2026-10-01 10:00:00,pigeon,,u1,,,,shipped,UAH,abc,x",  # 4 enum, enum, decimal
    "too,few",  # 5 malformed
    ",2026-10-01,store,s1,,,,,completed,UAH,1,y",  # 6 missing order_id
    "o1,2026-10-01T10:00:00+03:00,web,,u1, A@B.com ,,,completed,UAH,100.50,x",  # 7 duplicate
    "o6,2026-10-01,store,s1,,,,,returned,UAH,1,y,surplus",  # 8 too many fields
    'o7,2026-10-01,Store ,s1,,,"+380 67 123 45 67",,RETURNED,UAH,1,"a, b"',  # 9 ok
]
EVENTS = [
    {
        "messageId": "m1",
        "type": "track",
        "event": "Product Viewed",
        "timestamp": "2026-10-01T10:00:00Z",
        "anonymousId": "a1",
    },
    None,  # blank line 2: no record
    "{not json",  # 3
    {"messageId": "m2", "type": "track", "timestamp": "2026-10-01T10:00:00Z", "userId": "u1"},
    {
        "messageId": "m1",
        "type": "track",
        "event": "Product Viewed",
        "timestamp": "2026-10-01T10:00:00Z",
        "anonymousId": "a1",
    },  # 5 duplicate messageId
    {"messageId": "m3", "type": "fly", "timestamp": "x"},  # 6
    {
        "messageId": "m4",
        "type": "identify",
        "timestamp": "2026-10-01 08:00:00",
        "userId": "u1",
        "traits": {"email": "a@b.com"},
    },  # 7 ok
]


def _event_lines() -> str:
    out = []
    for item in EVENTS:
        out.append("" if item is None else item if isinstance(item, str) else json.dumps(item))
    return "\n".join(out) + "\n"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "orders_2026-10-01.csv").write_text(ORDERS_HEADER + "\n".join(ORDERS_ROWS))
    (root / "events").mkdir()
    with gzip.open(root / "events" / "events_2026-10-01.jsonl.gz", "wt") as handle:
        handle.write(_event_lines())
    (root / "products").mkdir()
    table = pa.table(
        {
            "product_id": ["p1", "p2", None],
            "name": ["Dog food", "Leash", "Ghost"],
            "category": ["pets", "pets", "pets"],
            "brand": ["Acme", "Acme", "Acme"],
            "price": [12.5, 3.0, 1.0],
        }
    )
    pq.write_table(table, root / "products" / "products.parquet")
    (root / "stores").mkdir()
    (root / "stores" / "stores.csv").write_text("store_id,name\ns1,Kyiv Central\n")  # lacks city
    (root / "stores" / "notes.txt").write_text("not a contract file")
    return root


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = connect(tmp_path / "wh.duckdb")
    yield connection
    connection.close()


def _quarantine(con: duckdb.DuckDBPyConnection, source: str) -> dict[int, str]:
    rows = con.execute(
        "select source_line, reason from raw._quarantine where source = ? order by 1", [source]
    ).fetchall()
    return dict(rows)


def test_csv_rows_reconcile_with_line_numbers(
    landing: Path, con: duckdb.DuckDBPyConnection
) -> None:
    results = load_landing(con, landing)
    (orders,) = results["orders"]
    assert (
        orders.rows_read,
        orders.rows_loaded,
        orders.rows_quarantined,
        orders.rows_duplicate,
    ) == (8, 2, 5, 1)
    assert orders.reconciles
    reasons = _quarantine(con, "orders")
    assert set(reasons) == {3, 4, 5, 6, 8}
    assert reasons[3] == "bad timestamp in ordered_at: '2026-02-30T10:00:00Z'"
    assert "unknown channel 'pigeon'" in reasons[4]
    assert "unknown status 'shipped'" in reasons[4]
    assert "not a decimal in total_amount: 'abc'" in reasons[4]
    assert reasons[5].startswith("malformed line")
    assert reasons[6] == "missing required field order_id"
    assert reasons[8] == "malformed line: too many columns"
    loaded = con.execute(
        "select order_id, _source_line, phone, _extra from raw.orders order by 1"
    ).fetchall()
    assert loaded == [
        ("o1", 2, None, '{"till_operator":"x"}'),
        ("o7", 9, "+380 67 123 45 67", '{"till_operator":"a, b"}'),
    ]


def test_events_jsonl_gz(landing: Path, con: duckdb.DuckDBPyConnection) -> None:
    (events,) = load_landing(con, landing, ["events"])["events"]
    assert (
        events.rows_read,
        events.rows_loaded,
        events.rows_quarantined,
        events.rows_duplicate,
    ) == (6, 2, 3, 1)
    reasons = _quarantine(con, "events")
    assert reasons == {
        3: "not a JSON object",
        4: "track event without event name",
        6: "unknown type 'fly'; bad timestamp 'x'; neither anonymousId nor userId",
    }
    rows = con.execute(
        "select message_id, event_type, event_timestamp, _source_line, "
        "json_extract_string(payload, '$.traits.email') from raw.events order by 1"
    ).fetchall()
    assert rows == [
        ("m1", "track", "2026-10-01T10:00:00Z", 1, None),
        ("m4", "identify", "2026-10-01 08:00:00", 7, "a@b.com"),
    ]


def test_parquet_and_missing_optional_column(landing: Path, con: duckdb.DuckDBPyConnection) -> None:
    results = load_landing(con, landing, ["products", "stores"])
    (products,) = results["products"]
    assert (products.rows_read, products.rows_loaded, products.rows_quarantined) == (3, 2, 1)
    assert _quarantine(con, "products") == {3: "missing required field product_id"}
    (stores,) = results["stores"]  # notes.txt is not a contract file
    assert (stores.rows_read, stores.rows_loaded) == (1, 1)
    assert con.execute("select store_id, city from raw.stores").fetchall() == [("s1", None)]


def test_second_load_reads_nothing_and_redelivery_is_deduplicated(
    landing: Path, con: duckdb.DuckDBPyConnection
) -> None:
    load_landing(con, landing)
    before = con.execute("select count(*) from raw.orders").fetchone()[0]
    assert all(loads == [] for loads in load_landing(con, landing).values())
    # The same file dropped again under another name: every good row is a duplicate.
    shutil.copy(
        landing / "orders" / "orders_2026-10-01.csv",
        landing / "orders" / "orders_2026-10-01_redelivered.csv",
    )
    (again,) = load_landing(con, landing, ["orders"])["orders"]
    assert (again.rows_read, again.rows_loaded, again.rows_quarantined, again.rows_duplicate) == (
        8,
        0,
        5,
        3,
    )
    assert con.execute("select count(*) from raw.orders").fetchone()[0] == before


def test_unreadable_file_is_reported_not_fatal(
    landing: Path, con: duckdb.DuckDBPyConnection
) -> None:
    (landing / "products" / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    loads = load_landing(con, landing, ["products"])["products"]
    by_file = {x.file: x for x in loads}
    assert by_file["products/broken.parquet"].status == "failed"
    assert by_file["products/broken.parquet"].error
    assert by_file["products/products.parquet"].status == "loaded"
    totals = source_totals(con, "products")
    assert totals.unreadable_files == 1
    # Once the file is replaced by a good one, the next run loads it and clears the failure.
    shutil.copy(landing / "products" / "products.parquet", landing / "products" / "broken.parquet")
    (retry,) = load_landing(con, landing, ["products"])["products"]
    assert retry.status == "loaded" and retry.rows_duplicate == 2
    assert source_totals(con, "products").unreadable_files == 0


def test_corrupt_gzip_csv_is_reported_not_fatal(
    landing: Path, con: duckdb.DuckDBPyConnection
) -> None:
    (landing / "stores" / "more.csv.gz").write_bytes(b"store_id,name\nnot gzip at all")
    loads = {x.file: x for x in load_landing(con, landing, ["stores"])["stores"]}
    assert loads["stores/more.csv.gz"].status == "failed"
    assert loads["stores/stores.csv"].status == "loaded"


def test_missing_landing_zone_is_a_clear_error(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    with pytest.raises(LandingZoneError, match="does not exist"):
        load_landing(con, tmp_path / "nowhere")
