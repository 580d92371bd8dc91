"""Hand-made identity graphs as landing-zone drops, each shape with a known answer.

Drop 1 holds: a chain of 40 cookies and 40 devices linked alternately (far longer than the
passes a naive label propagation would need), a cycle, a star, a store kiosk used by three
accounts, a family e-mail given with two people's phones, a shop e-mail typed at the till for
two loyalty cards, and two people X and Y who are strangers so far. Drop 2 is a CRM contact
that shows X and Y are one person. Drop 3 gives X's e-mail with a third phone, so the e-mail
turns out to be shared and X and Y fall apart again.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

CHAIN = 40
CYCLE = 10
STAR = 30

ORDER_COLUMNS = [
    "order_id",
    "ordered_at",
    "channel",
    "store_id",
    "user_id",
    "email",
    "phone",
    "loyalty_card_id",
    "status",
    "currency",
    "total_amount",
]
CRM_COLUMNS = [
    "contact_id",
    "created_at",
    "updated_at",
    "user_id",
    "email",
    "phone",
    "loyalty_card_id",
    "telegram_id",
    "viber_id",
    "first_name",
    "last_name",
    "birth_date",
    "city",
]

X_EMAIL = "x.person@gmail.com"
Y_PHONE = "+380501112233"


def _event(n: int, **fields: object) -> dict[str, object]:
    event: dict[str, object] = {
        "messageId": f"graph-{n}",
        "type": "track",
        "event": "Product Viewed",
        "timestamp": f"2026-10-01T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
    }
    device = fields.pop("device", None)
    if device:
        event["context"] = {"device": {"id": device, "type": "android"}}
    traits = {k: fields.pop(k) for k in ("email", "phone") if k in fields}
    if traits:
        event["type"] = "identify"
        event.pop("event")
        event["traits"] = traits
    event.update(fields)
    return event


def _graph_events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []

    def add(**fields: object) -> None:
        events.append(_event(len(events), **fields))

    for k in range(CHAIN):  # anon-k — dev-k — anon-(k+1) — …
        add(anonymousId=f"chain-anon-{k}", device=f"CHAIN-DEV-{k}")
        add(anonymousId=f"chain-anon-{k + 1}", device=f"CHAIN-DEV-{k}")
    add(anonymousId=f"chain-anon-{CHAIN}", userId="U-CHAIN")
    for k in range(CYCLE):  # a ring closing on itself
        add(anonymousId=f"ring-anon-{k}", device=f"RING-DEV-{k}")
        add(anonymousId=f"ring-anon-{(k + 1) % CYCLE}", device=f"RING-DEV-{k}")
    for k in range(STAR):  # one device, many cookies
        add(anonymousId=f"star-anon-{k}", device="STAR-DEV")
    for account in ("U-A", "U-B", "U-C"):  # a kiosk in the store
        add(userId=account, device="KIOSK-1")
        add(userId=account, email=f"{account.lower()}@gmail.com")
    add(userId="U-F1", phone="+380671000001")
    add(userId="U-F2", phone="+380671000002")
    add(userId="U-X", email=X_EMAIL)
    return events


def _order(order_id: str, **fields: str) -> dict[str, str]:
    row = dict.fromkeys(ORDER_COLUMNS, "")
    row.update(
        order_id=order_id,
        ordered_at="2026-10-02T12:00:00Z",
        channel="store",
        store_id="S-1",
        status="completed",
        currency="UAH",
        total_amount="100.00",
    )
    row.update(fields)
    return row


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_drop_1(landing: Path) -> None:
    events = landing / "events" / "graph-shapes.jsonl"
    events.parent.mkdir(parents=True, exist_ok=True)
    events.write_text("".join(json.dumps(e) + "\n" for e in _graph_events()))
    _write_csv(
        landing / "orders" / "drop-1.csv",
        ORDER_COLUMNS,
        [
            _order("F-1", email="family@ukr.net", phone="+380671000001"),
            _order("F-2", email="family@ukr.net", phone="+380671000002"),
            _order("T-1", email="info@shop.example", loyalty_card_id="L-1"),
            _order("T-2", email="info@shop.example", loyalty_card_id="L-2"),
            _order("Y-1", phone=Y_PHONE, loyalty_card_id="L-Y"),
        ],
    )


def write_drop_2(landing: Path) -> None:
    row = dict.fromkeys(CRM_COLUMNS, "")
    row.update(
        contact_id="C-XY",
        created_at="2026-10-05T09:00:00Z",
        updated_at="2026-10-05T09:00:00Z",
        email=X_EMAIL,
        phone=Y_PHONE,
        first_name="Iryna",
    )
    _write_csv(landing / "crm_contacts" / "drop-2.csv", CRM_COLUMNS, [row])


def write_drop_3(landing: Path) -> None:
    _write_csv(
        landing / "orders" / "drop-3.csv",
        ORDER_COLUMNS,
        [_order("Z-1", email=X_EMAIL, phone="+380509998877")],
    )
