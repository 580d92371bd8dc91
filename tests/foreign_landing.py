"""A small landing zone written the way another team's exports look (not by our generator).

Every source is present; files mix CSV, gzipped CSV, Parquet and gzipped JSONL; columns come
in another order, with extra columns, mixed case and spacing, several timestamp styles.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def _csv(path: Path, rows: list[dict[str, str]], *, gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _parquet(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


EVENTS = [
    {
        "messageId": "ajs-1",
        "type": "page",
        "anonymousId": "anon-1",
        "timestamp": "2026-10-01T12:15:00+03:00",
        "sentAt": "2026-10-01T12:15:01+03:00",
        "context": {
            "page": {"url": "https://shop.example/p/dog-food", "referrer": ""},
            "campaign": {"source": "newsletter", "medium": "email", "name": "autumn"},
            "library": {"name": "analytics.js", "version": "4.1"},
        },
    },
    {
        "messageId": "ios-7",
        "type": "screen",
        "anonymousId": "dev-anon-7",
        "userId": "U-42",
        "timestamp": "2026-10-02 08:00:00.250",
        "context": {"device": {"id": "DEV-7", "type": "ios", "token": "apns-tok-7"}},
    },
    {
        "messageId": "ios-8",
        "type": "identify",
        "userId": "U-42",
        "timestamp": "2026-10-02T08:01:00Z",
        "traits": {
            "email": " Olena.K@Gmail.com ",
            "phone": "(067) 555-19-83",
            "loyalty_card_id": "LC-0042",
            "first_name": "Olena",
        },
        "context": {"device": {"id": "DEV-7", "type": "ios"}},
    },
    {
        "messageId": "ios-9",
        "type": "track",
        "event": "Order Completed",
        "userId": "U-42",
        "timestamp": "2026-10-02T08:05:00Z",
        "properties": {
            "order_id": "ORD-1",
            "revenue": 450.0,
            "currency": "UAH",
            "products": [{"product_id": "SKU-1", "price": 225.0, "quantity": 2}],
        },
        "context": {"device": {"id": "DEV-7", "type": "ios"}},
    },
]


def write_foreign_landing(root: Path) -> None:
    """Write one small, contract-following drop for every source under `root`."""
    events = root / "events" / "segment-export-2026-10-02.jsonl.gz"
    events.parent.mkdir(parents=True)
    with gzip.open(events, "wt") as handle:
        handle.writelines(json.dumps(e) + "\n" for e in EVENTS)
    _csv(
        root / "orders" / "2026" / "10" / "orders.csv",
        [
            {
                "status": "Completed",
                "order_id": "ORD-1",
                "ordered_at": "2026-10-02T11:05:00+03:00",
                "channel": "APP",
                "store_id": "",
                "user_id": "U-42",
                "email": "",
                "phone": "+380 67 555 19 83",
                "loyalty_card_id": "",
                "currency": "uah",
                "total_amount": "450.00",
                "erp_batch": "B1",
            },
            {
                "status": "completed",
                "order_id": "ORD-2",
                "ordered_at": "2026-10-03 10:00:00",
                "channel": "store",
                "store_id": "KYIV-1",
                "user_id": "",
                "email": "",
                "phone": "0675551983",
                "loyalty_card_id": "LC-0042",
                "currency": "UAH",
                "total_amount": "99.90",
                "erp_batch": "B1",
            },
        ],
    )
    _csv(
        root / "orders" / "2026" / "10" / "orders-returns.csv.gz",
        [
            {
                "status": "returned",
                "order_id": "ORD-2",
                "ordered_at": "2026-10-03 10:00:00",
                "channel": "store",
                "store_id": "KYIV-1",
                "user_id": "",
                "email": "",
                "phone": "0675551983",
                "loyalty_card_id": "LC-0042",
                "currency": "UAH",
                "total_amount": "99.90",
                "erp_batch": "B2",
            },
        ],
        gz=True,
    )
    _parquet(
        root / "order_items" / "items.parquet",
        [
            {
                "order_id": "ORD-1",
                "line_no": 1,
                "product_id": "SKU-1",
                "quantity": 2,
                "unit_price": 225.0,
            },
            {
                "order_id": "ORD-2",
                "line_no": 1,
                "product_id": "SKU-2",
                "quantity": 1,
                "unit_price": 99.9,
            },
        ],
    )
    _csv(
        root / "crm_contacts" / "crm.csv",
        [
            {
                "contact_id": "C-1",
                "created_at": "2026-09-01T10:00:00Z",
                "updated_at": "2026-10-05T10:00:00Z",
                "user_id": "U-42",
                "email": "OLENA.K@gmail.com",
                "phone": "380675551983",
                "loyalty_card_id": "LC-0042",
                "telegram_id": "777001",
                "viber_id": "",
                "first_name": "Olena",
                "last_name": "K",
                "birth_date": "1990-04-12",
                "city": "Kyiv",
            },
        ],
    )
    _parquet(
        root / "message_events" / "esp-2026-10-01.parquet",
        [
            {
                "event_id": "ME-1",
                "occurred_at": "2026-10-01T09:00:00Z",
                "channel": "email",
                "campaign_id": "CMP-autumn",
                "message_id": "MSG-1",
                "recipient": "olena.k@gmail.com",
                "event_type": "sent",
                "cost": 0.0005,
            },
            {
                "event_id": "ME-2",
                "occurred_at": "2026-10-01T09:14:00Z",
                "channel": "email",
                "campaign_id": "CMP-autumn",
                "message_id": "MSG-1",
                "recipient": "olena.k@gmail.com",
                "event_type": "clicked",
                "cost": None,
            },
            {
                "event_id": "ME-3",
                "occurred_at": "2026-10-04T09:00:00Z",
                "channel": "sms",
                "campaign_id": "CMP-tracking",
                "message_id": "MSG-2",
                "recipient": "+380675551983",
                "event_type": "delivered",
                "cost": 0.035,
            },
        ],
    )
    _csv(
        root / "support_tickets" / "tickets.csv",
        [
            {
                "ticket_id": "T-1",
                "opened_at": "2026-10-06T10:00:00Z",
                "resolved_at": "2026-10-06T10:20:00Z",
                "first_channel": "telegram",
                "topic": "delivery",
                "user_id": "",
                "email": "",
                "phone": "",
                "telegram_id": "777001",
            },
        ],
    )
    _csv(
        root / "support_interactions" / "interactions.csv",
        [
            {
                "interaction_id": "I-1",
                "ticket_id": "T-1",
                "occurred_at": "2026-10-06T10:00:00Z",
                "channel": "telegram",
                "direction": "inbound",
                "handled_by": "bot",
            },
            {
                "interaction_id": "I-2",
                "ticket_id": "T-1",
                "occurred_at": "2026-10-06T10:01:00Z",
                "channel": "telegram",
                "direction": "outbound",
                "handled_by": "bot",
            },
        ],
    )
    _csv(
        root / "survey_responses" / "nps.csv",
        [
            {
                "response_id": "R-1",
                "responded_at": "2026-10-07T18:00:00+03:00",
                "survey_type": "NPS",
                "score": "9",
                "touchpoint_channel": "email",
                "user_id": "",
                "email": "olena.k@gmail.com",
                "phone": "",
                "comment": "Fast, thanks!\nWill buy again",
            },
        ],
    )
    _csv(
        root / "consents" / "consents.csv",
        [
            {
                "occurred_at": "2026-09-01T10:00:00Z",
                "identifier_type": "email",
                "identifier": "Olena.K@gmail.com",
                "channel": "email",
                "status": "opt_in",
                "source": "checkout",
            },
            {
                "occurred_at": "2026-10-08T10:00:00Z",
                "identifier_type": "phone",
                "identifier": "067 555 19 83",
                "channel": "sms",
                "status": "opt_out",
                "source": "sms_stop",
            },
        ],
    )
    _csv(
        root / "marketing_spend" / "spend.csv",
        [
            {
                "date": "2026-10-01",
                "channel": "Google Ads",
                "campaign_id": "CMP-autumn",
                "spend": "1200.50",
                "currency": "UAH",
            },
        ],
    )
    _parquet(
        root / "products" / "catalog.parquet",
        [
            {
                "product_id": "SKU-1",
                "name": "Dog food 10kg",
                "category": "pets",
                "brand": "Acme",
                "price": 225.0,
            },
            {
                "product_id": "SKU-2",
                "name": "Leash",
                "category": "pets",
                "brand": "Acme",
                "price": 99.9,
            },
        ],
    )
    _csv(root / "stores" / "stores.csv", [{"store_id": "KYIV-1", "name": "Kyiv", "city": "Kyiv"}])
