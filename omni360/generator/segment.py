"""Events as Segment-spec JSON lines (what Segment, RudderStack or Jitsu would write).

Absent fields are left out rather than written as null. Web events carry `context.page`,
app and kiosk events `context.device` (a web browser subscribed to web push has a device of
type `web` with its token); a visit brought by a campaign carries `context.campaign`
(utm source/medium/name) on all its events. `messageId` is a UUID derived from the seed and
the event's identity, so re-delivered events repeat it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omni360.generator import vocab
from omni360.generator.arrays import explode, lookup
from omni360.generator.campaigns import ALL_CHANNELS, CHANNELS, Campaigns
from omni360.generator.catalog import Catalog
from omni360.generator.clock import Style, Window
from omni360.generator.commerce import CURRENCIES, Orders
from omni360.generator.formats import sql_list
from omni360.generator.frames import Frame
from omni360.generator.journeys import (
    ADDED,
    CART_VIEWED,
    CHECKOUT,
    EMAIL_CLICKED,
    EVENT_KINDS,
    IDENTIFY,
    IN_APP_CLICKED,
    KIOSK_VISIT,
    MESSAGE_CLICKED,
    ORDER_COMPLETED,
    PAGE,
    PURCHASE,
    PUSH_OPENED,
    REFERRERS,
    REMOVED,
    SCREEN,
    SEARCHED,
    SIGNED_UP,
    VIEWED,
    WEB,
    Carts,
    Journeys,
    Sessions,
)
from omni360.generator.messaging import Messages
from omni360.generator.people import People
from omni360.generator.textops import choose, concat, hashed_uuids, money_text, take

DEVICE_TYPES = ("ios", "android", "web")
PAGE_PATHS = (
    "/account",
    "/",
    "/",
    "/p/",
    "/p/",
    "/p/",
    "/cart",
    "/checkout",
    "/checkout/success",
    "/account/welcome",
    "/search?q=",
    "/",
    "/",
    "/",
    "/",
)
SIGNUP_METHODS = ("email", "google", "apple")
DRIVERS = (PUSH_OPENED, EMAIL_CLICKED, MESSAGE_CLICKED, IN_APP_CLICKED)


def _cart_products(carts: Carts, cart: np.ndarray, product_ids: pa.Array) -> pa.Array:
    """The `products` array (JSON text) of each given cart; null where cart is -1."""
    needed = np.flatnonzero(cart >= 0)
    count = carts.item_count[cart[needed]]
    owner, j = explode(count)
    line = carts.item_first[cart[needed]][owner] + j
    objects = concat(
        '{"product_id":"',
        product_ids.take(pa.array(carts.product[line])),
        '","quantity":',
        pc.cast(pa.array(carts.quantity[line]), pa.string()),
        ',"price":',
        money_text(carts.price[line]),
        "}",
    )
    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), objects), ",")
    json = concat("[", joined, "]")
    index = np.full(len(cart), len(needed), dtype=np.int64)
    index[needed] = np.arange(len(needed))
    return pa.concat_arrays([json, pa.nulls(1, pa.string())]).take(pa.array(index))


def _trait_slots(
    people: People, sessions: Sessions, session: np.ndarray, kind: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E-mail, phone and card slots an identify call's traits carry (-1 elsewhere).

    A kiosk login shares only the loyalty card.
    """
    person = sessions.person[session]
    identify = kind == IDENTIFY
    traits = identify & (sessions.kind[session] != KIOSK_VISIT)
    email = np.where(traits, people.email_at(person, at), -1)
    phone = np.where(traits, people.phone[person], -1)
    card = np.where(identify & sessions.shares_card[session], people.card[person], -1)
    return email, phone, card


def event_frame(
    journeys: Journeys,
    people: People,
    catalog: Catalog,
    orders: Orders,
    campaigns: Campaigns,
    messages: Messages,
    window: Window,
    seed: int,
) -> Frame:
    events, sessions, carts = journeys.events, journeys.sessions, journeys.carts
    said = np.flatnonzero(events.kind == IDENTIFY)
    for kind, slots in zip(
        ("email", "phone", "loyalty_card_id"),
        _trait_slots(people, sessions, events.session[said], events.kind[said], events.at[said]),
        strict=True,
    ):
        people.slots[kind].mark(slots)
    platform = sessions.platform[events.session]
    rows = pa.table(
        {
            "_ts": events.at,
            "_part": (platform != WEB).astype(np.int8),
            "_delay": sessions.delay[events.session].astype(np.int8),
            "session": events.session,
            "kind": events.kind,
            "product": events.product,
            "item": events.item,
            "logged": events.logged,
        }
    )
    utm_source = choose([CHANNELS[c][2] for c in ALL_CHANNELS], campaigns.channel)
    utm_medium = choose([CHANNELS[c][3] for c in ALL_CHANNELS], campaigns.channel)
    campaign_ids = pa.array(campaigns.campaign_id)
    order_ids = orders.order_id
    device_platform = people.devices.platform

    def prepare(batch: pa.Table) -> pa.Table:
        ses = batch.column("session").to_numpy()
        kind = batch.column("kind").to_numpy()
        at = batch.column("_ts").to_numpy()
        product = batch.column("product").to_numpy()
        item = batch.column("item").to_numpy()
        person = sessions.person[ses]
        web = sessions.platform[ses] == WEB
        identify = kind == IDENTIFY
        kiosk = sessions.kind[ses] == KIOSK_VISIT
        cart = sessions.cart[ses]
        carries_cart = np.isin(kind, [CART_VIEWED, CHECKOUT, ORDER_COMPLETED]) & (cart >= 0)
        purchase = (
            carries_cart
            & (sessions.kind[ses] == PURCHASE)
            & np.isin(kind, [CHECKOUT, ORDER_COMPLETED])
        )
        order = lookup(carts.order, np.where(purchase, cart, -1))
        device = sessions.device[ses]
        token = sessions.token[ses]
        device_type = np.where(web, np.where(token >= 0, 2, -1), lookup(device_platform, device))
        campaign = sessions.campaign[ses]
        driver = np.isin(kind, DRIVERS)
        traits = identify & ~kiosk
        email, phone, card = _trait_slots(people, sessions, ses, kind, at)
        price = np.where(
            item >= 0,
            lookup(carts.price, item),
            catalog.price_at(np.maximum(product, 0), window.day_of(at)),
        )
        columns = {
            "message_uuid": hashed_uuids(seed, batch.column("_rec_id").to_numpy()),
            "ts_style": np.where(web, Style.Z_MS, Style.LOCAL_MS),
            "web": web,
            "anonymous_id": take(people.slots["anonymous_id"].value, sessions.anon[ses]),
            "user_id": take(
                people.slots["user_id"].value,
                np.where(
                    batch.column("logged").to_numpy(zero_copy_only=False), sessions.user[ses], -1
                ),
            ),
            "device_id": take(people.slots["device_id"].value, device),
            "device_type": choose(DEVICE_TYPES, device_type),
            "device_token": take(people.slots["push_token"].value, token),
            "utm_source": take(utm_source, campaign),
            "utm_medium": take(utm_medium, campaign),
            "utm_name": take(campaign_ids, campaign),
            "referrer": choose(REFERRERS, np.where(kind == PAGE, sessions.referrer[ses], -1)),
            "term": choose(
                vocab.SEARCH_TERMS, np.where(kind == SEARCHED, sessions.search[ses], -1)
            ),
            "screen": choose(
                ("Home", "Kiosk Home"),
                np.where(np.isin(kind, [PAGE, SCREEN]), kiosk.astype(np.int64), -1),
            ),
            "email": take(people.slots["email"].value, email),
            "typed": take(people.email_display, email),
            "email_style": sessions.email_style[ses],
            "phone": take(people.slots["phone"].value, phone),
            "phone_style": sessions.phone_style[ses],
            "card": take(people.slots["loyalty_card_id"].value, card),
            "first_name": take(people.first_name, np.where(traits, person, -1)),
            "last_name": take(people.last_name, np.where(traits, person, -1)),
            "product_id": take(catalog.product_id, product),
            "product_name": take(catalog.name, product),
            "category": take(catalog.category, product),
            "brand": take(catalog.brand, product),
            "price": pa.array(price, mask=product < 0),
            "quantity": pa.array(
                np.where(item >= 0, lookup(carts.quantity, item), 1),
                mask=~np.isin(kind, [ADDED, REMOVED]),
            ),
            "currency": choose(
                CURRENCIES,
                np.where(carries_cart, lookup(carts.currency, cart), np.where(product >= 0, 0, -1)),
            ),
            "order_id": take(order_ids, order),
            "revenue": pa.array(lookup(carts.total, cart), mask=~carries_cart),
            "products": _cart_products(carts, np.where(carries_cart, cart, -1), catalog.product_id),
            "campaign_id": take(campaign_ids, np.where(driver, campaign, -1)),
            "message_id": take(messages.message_id, np.where(driver, sessions.message[ses], -1)),
            "method": choose(SIGNUP_METHODS, np.where(kind == SIGNED_UP, person % 3, -1)),
        }
        for name, values in columns.items():
            batch = batch.append_column(
                name, pa.array(values) if isinstance(values, np.ndarray) else values
            )
        return batch

    return Frame("events", rows, _line_sql(), prepare)


def _field(name: str, value: str, quoted: bool = True) -> str:
    """`"name":value`, null (so left out by concat_ws) when the value is null.

    Values are never escaped: generated text holds no quote, backslash or control character.
    """
    return f"""'"{name}":"' || {value} || '"'""" if quoted else f"""'"{name}":' || {value}"""


def _object(name: str, present: str, *fields: str) -> str:
    """`"name":{...}` when `present` holds, else null."""
    body = "concat_ws(',', " + ", ".join(fields) + ")"
    return f"""case when {present} then '"{name}":{{' || {body} || '}}' end"""


def _any(*columns: str) -> str:
    return "(" + " or ".join(f"{c} is not null" for c in columns) + ")"


def _line_sql() -> str:
    types = sql_list([t for t, _ in EVENT_KINDS])
    names = sql_list([e or "" for _, e in EVENT_KINDS])
    paths = sql_list(PAGE_PATHS)
    drivers = ", ".join(map(str, DRIVERS))
    utm = (
        f"case when kind in ({PAGE}, {drivers}) and utm_name is not null then "
        "'?utm_source=' || utm_source || '&utm_medium=' || utm_medium || "
        "'&utm_campaign=' || utm_name else '' end"
    )
    url = (
        f"'https://{vocab.SHOP_DOMAIN}' || {paths}[kind + 1] || "
        f"case when kind in ({VIEWED}, {ADDED}, {REMOVED}) then lower(product_id) "
        f"when kind = {SEARCHED} then url_encode(term) else '' end || {utm}"
    )
    context = _object(
        "context",
        _any("device_id", "device_token", "utm_name") + " or web",
        _object(
            "device",
            _any("device_id", "device_token"),
            _field("id", "device_id"),
            _field("type", "device_type"),
            _field("token", "device_token"),
        ),
        _object("page", "web", _field("url", url), _field("referrer", "referrer")),
        _object(
            "campaign",
            "utm_name is not null",
            _field("source", "utm_source"),
            _field("medium", "utm_medium"),
            _field("name", "utm_name"),
        ),
    )
    properties = _object(
        "properties",
        _any("product_id", "term", "revenue", "campaign_id", "method"),
        _field("product_id", "product_id"),
        _field("name", "product_name"),
        _field("category", "category"),
        _field("brand", "brand"),
        _field("price", "money(price)", quoted=False),
        _field("quantity", "quantity::varchar", quoted=False),
        _field("query", "term"),
        _field("order_id", "order_id"),
        _field("revenue", "money(revenue)", quoted=False),
        _field("currency", "currency"),
        _field("products", "products", quoted=False),
        _field("campaign_id", "campaign_id"),
        _field("message_id", "message_id"),
        _field("method", "method"),
    )
    traits = _object(
        "traits",
        f"kind = {IDENTIFY}",
        _field("email", "email_text(email, typed, email_style)"),
        _field("phone", "phone_text(phone, phone_style)"),
        _field("loyalty_card_id", "card"),
        _field("first_name", "first_name"),
        _field("last_name", "last_name"),
    )
    fields = [
        _field("messageId", "message_uuid"),
        _field("timestamp", "ts_text(_ts, ts_style)"),
        _field("type", f"{types}[kind + 1]"),
        _field("event", f"nullif({names}[kind + 1], '')"),
        _field("name", "screen"),
        _field("userId", "user_id"),
        _field("anonymousId", "anonymous_id"),
        context,
        properties,
        traits,
    ]
    return "'{' || concat_ws(',', " + ", ".join(fields) + ") || '}' || chr(10) as line"
