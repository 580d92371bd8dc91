"""The landing-zone contract (v1) as data: sources, their columns, types and allowed values.

One place states what a valid row is; the loader validates against it, the generator writes
to it, and `docs/landing-zone.md` explains it to users.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a contract column is validated (raw values are kept as text)."""

    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    DECIMAL = "decimal"
    INTEGER = "integer"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """A landing-zone folder and the rules for its rows."""

    name: str
    formats: tuple[str, ...]
    columns: tuple[Column, ...] = ()
    at_least_one_of: tuple[str, ...] = ()
    description: str = ""
    # Erasure (`omni360 forget`): the columns that hold a person's identifiers, and the column
    # whose value keys the row to a record of the identity graph (`record_of` names the
    # graph's source: order lines belong to their order).
    personal_columns: tuple[str, ...] = ()
    record_key: str | None = None
    record_of: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def is_events(self) -> bool:
        return self.name == "events"


def _c(name: str, kind: Kind = Kind.TEXT, *, req: bool = False, allowed: tuple = ()) -> Column:
    return Column(name, kind, req, tuple(allowed))


T, TS, D, DEC, INT = Kind.TEXT, Kind.TIMESTAMP, Kind.DATE, Kind.DECIMAL, Kind.INTEGER
TABULAR = ("csv", "csv.gz", "parquet")

ORDER_CHANNELS = ("web", "app", "store", "call_center", "marketplace")
ORDER_STATUSES = ("completed", "cancelled", "returned")
MESSAGE_CHANNELS = (
    "email",
    "sms",
    "viber",
    "telegram",
    "whatsapp",
    "web_push",
    "mobile_push",
    "app_inbox",
    "in_app",
)
MESSAGE_EVENT_TYPES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "failed",
    "unsubscribed",
    "complained",
)
SUPPORT_CHANNELS = ("phone", "chat", "email", "telegram", "whatsapp", "viber", "store")
SURVEY_TYPES = ("nps", "ces", "csat")
IDENTIFIER_TYPES = ("email", "phone", "push_token", "telegram_id", "viber_id", "device_id")
CONSENT_STATUSES = ("opt_in", "opt_out")
EVENT_TYPES = ("identify", "track", "page", "screen")
# Survey score ranges per survey type, inclusive.
SURVEY_SCALES = {"nps": (0, 10), "ces": (1, 7), "csat": (1, 5)}

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "events",
            ("jsonl", "jsonl.gz"),
            description="Segment-spec events (identify, track, page, screen) from web and app.",
            personal_columns=("user_id", "anonymous_id"),
            record_key="message_id",
            record_of="events",
        ),
        Source(
            "orders",
            TABULAR,
            (
                _c("order_id", req=True),
                _c("ordered_at", TS, req=True),
                _c("channel", req=True, allowed=ORDER_CHANNELS),
                _c("store_id"),
                _c("user_id"),
                _c("email"),
                _c("phone"),
                _c("loyalty_card_id"),
                _c("status", req=True, allowed=ORDER_STATUSES),
                _c("currency", req=True),
                _c("total_amount", DEC, req=True),
            ),
            description="Every order, online and offline, one row per order state.",
            personal_columns=("user_id", "email", "phone", "loyalty_card_id"),
            record_key="order_id",
            record_of="orders",
        ),
        Source(
            "order_items",
            TABULAR,
            (
                _c("order_id", req=True),
                _c("line_no", INT, req=True),
                _c("product_id", req=True),
                _c("quantity", INT, req=True),
                _c("unit_price", DEC, req=True),
            ),
            description="Order lines.",
            record_key="order_id",
            record_of="orders",
        ),
        Source(
            "crm_contacts",
            TABULAR,
            (
                _c("contact_id", req=True),
                _c("created_at", TS, req=True),
                _c("updated_at", TS, req=True),
                _c("user_id"),
                _c("email"),
                _c("phone"),
                _c("loyalty_card_id"),
                _c("telegram_id"),
                _c("viber_id"),
                _c("first_name"),
                _c("last_name"),
                _c("birth_date", D),
                _c("city"),
            ),
            description="CRM contact versions; a contact re-exported after an update is a new row.",
            personal_columns=(
                "user_id",
                "email",
                "phone",
                "loyalty_card_id",
                "telegram_id",
                "viber_id",
            ),
            record_key="contact_id",
            record_of="crm_contacts",
        ),
        Source(
            "message_events",
            TABULAR,
            (
                _c("event_id", req=True),
                _c("occurred_at", TS, req=True),
                _c("channel", req=True, allowed=MESSAGE_CHANNELS),
                _c("campaign_id"),
                _c("message_id"),
                _c("recipient"),
                _c("event_type", req=True, allowed=MESSAGE_EVENT_TYPES),
                _c("cost", DEC),
            ),
            description="Delivery reports from messaging platforms.",
            personal_columns=("recipient",),
            record_key="event_id",
            record_of="message_events",
        ),
        Source(
            "support_tickets",
            TABULAR,
            (
                _c("ticket_id", req=True),
                _c("opened_at", TS, req=True),
                _c("resolved_at", TS),
                _c("first_channel", allowed=SUPPORT_CHANNELS),
                _c("topic"),
                _c("user_id"),
                _c("email"),
                _c("phone"),
                _c("telegram_id"),
            ),
            description="Support tickets; a ticket re-exported once resolved is a new row.",
            personal_columns=("user_id", "email", "phone", "telegram_id"),
            record_key="ticket_id",
            record_of="support_tickets",
        ),
        Source(
            "support_interactions",
            TABULAR,
            (
                _c("interaction_id", req=True),
                _c("ticket_id", req=True),
                _c("occurred_at", TS, req=True),
                _c("channel", req=True, allowed=SUPPORT_CHANNELS),
                _c("direction", req=True, allowed=("inbound", "outbound")),
                _c("handled_by", allowed=("bot", "agent")),
            ),
            description="Every contact within a support ticket.",
            record_key="ticket_id",
            record_of="support_tickets",
        ),
        Source(
            "survey_responses",
            TABULAR,
            (
                _c("response_id", req=True),
                _c("responded_at", TS, req=True),
                _c("survey_type", req=True, allowed=SURVEY_TYPES),
                _c("score", INT, req=True),
                _c("touchpoint_channel"),
                _c("user_id"),
                _c("email"),
                _c("phone"),
                _c("comment"),
            ),
            description="NPS (0-10), CES (1-7) and CSAT (1-5) answers.",
            personal_columns=("user_id", "email", "phone"),
            record_key="response_id",
            record_of="survey_responses",
        ),
        Source(
            "consents",
            TABULAR,
            (
                _c("occurred_at", TS, req=True),
                _c("identifier_type", req=True, allowed=IDENTIFIER_TYPES),
                _c("identifier", req=True),
                _c("channel", req=True),
                _c("status", req=True, allowed=CONSENT_STATUSES),
                _c("source"),
            ),
            description="Opt-in and opt-out history per identifier and channel.",
            personal_columns=("identifier",),
        ),
        Source(
            "marketing_spend",
            TABULAR,
            (
                _c("date", D, req=True),
                _c("channel", req=True),
                _c("campaign_id"),
                _c("spend", DEC, req=True),
                _c("currency", req=True),
            ),
            description="Daily marketing spend per channel and campaign.",
        ),
        Source(
            "products",
            TABULAR,
            (
                _c("product_id", req=True),
                _c("name"),
                _c("category"),
                _c("brand"),
                _c("price", DEC),
            ),
            description="Product catalogue versions.",
        ),
        Source(
            "stores",
            TABULAR,
            (_c("store_id", req=True), _c("name"), _c("city")),
            description="Physical stores.",
        ),
    )
}

# Columns the loader adds to every raw table, after the contract columns.
METADATA_COLUMNS = (
    "_extra",  # JSON object of columns outside the contract (kept, never an error)
    "_source_file",  # path of the file, relative to the landing zone
    "_source_line",  # line number in that file (CSV: the header is line 1), or parquet row
    "_record_hash",  # identity of the record: a record seen before is a duplicate
    "_load_id",  # the load (one per file and run) that brought the row
    "_loaded_at",  # UTC time the row was loaded
)

# The fields the loader lifts out of an event's JSON; the whole line is kept in `payload`.
EVENT_COLUMNS = (
    "message_id",
    "event_type",
    "event_name",
    "event_timestamp",
    "anonymous_id",
    "user_id",
    "payload",
)


def raw_columns(source: Source) -> list[str]:
    """Columns of the source's table in the `raw` schema, in order."""
    data = list(EVENT_COLUMNS) if source.is_events else source.column_names
    return data + list(METADATA_COLUMNS)
