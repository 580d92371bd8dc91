"""Orders on every channel, their lines, and their later cancellations and returns.

Each system knows different identifiers: the web shop a user id (or a guest's e-mail and
phone), the app a user id, a till the loyalty card or a phone typed by the cashier (or the
shop's own e-mail), the call centre a phone, a marketplace a phone only. A cancelled or
returned order is exported again with its new status on the day it changed. A till that was
offline delivers its day late.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omni360.contract import ORDER_CHANNELS, ORDER_STATUSES
from omni360.generator import vocab
from omni360.generator.arrays import explode
from omni360.generator.catalog import Catalog
from omni360.generator.clock import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    OFFICE_HOURS,
    ONLINE_HOURS,
    STORE_HOURS,
    Style,
    Window,
    fit_to_style,
    sample_instants,
)
from omni360.generator.formats import Email, Phone, sql_list
from omni360.generator.frames import Frame, identifier_lookup
from omni360.generator.people import UA, People
from omni360.generator.randomness import bernoulli, stream, weighted
from omni360.generator.textops import concat, digits, take, unique_ints

WEB, APP, STORE, CALL_CENTER, MARKETPLACE = range(5)
COMPLETED, CANCELLED, RETURNED = range(3)
CURRENCIES = ("UAH", "PLN", "EUR")
NEVER = np.iinfo(np.int64).max
CHANNEL_STYLE = np.array([Style.Z_MS, Style.Z_MS, Style.LOCAL, Style.NAIVE_UTC, Style.Z])
# Per order channel: e-mail and phone spellings (weights per Email / Phone style).
EMAIL_STYLES = (
    {Email.LOWER: 55, Email.TYPED: 30, Email.TRAILING_SPACE: 10, Email.LEADING_SPACE: 5},
    {Email.LOWER: 1},
    {Email.LOWER: 50, Email.UPPER: 25, Email.LEADING_SPACE: 15, Email.TYPED: 10},
    {Email.LOWER: 1},
    {Email.LOWER: 1},
)
PHONE_STYLES = (
    {Phone.E164: 6, Phone.SPACED: 4},
    {Phone.E164: 1},
    {Phone.NATIONAL: 5, Phone.PUNCTUATED: 3, Phone.DIGITS: 2},
    {Phone.NATIONAL: 6, Phone.INTERNATIONAL_00: 2, Phone.PUNCTUATED: 2},
    {Phone.DIGITS: 1},
)
ORDERS_PER_PERSON = 2.2


@dataclass
class Orders:
    """Orders in time order, with the identifiers their system recorded."""

    order_id: pa.Array
    person: np.ndarray
    channel: np.ndarray
    at: np.ndarray
    store: np.ndarray  # -1 online
    currency: np.ndarray  # index into CURRENCIES
    total: np.ndarray  # cents in the currency
    status: np.ndarray  # final status
    changed_at: np.ndarray  # when it was cancelled or returned (NEVER)
    user: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    card: np.ndarray
    email_style: np.ndarray
    phone_style: np.ndarray
    delay: np.ndarray  # days the till delivered the order late
    item_first: np.ndarray
    item_count: np.ndarray
    # order lines
    item_product: np.ndarray
    item_quantity: np.ndarray
    item_price: np.ndarray  # unit price in cents of the order's currency

    def __len__(self) -> int:
        return len(self.person)


def _styles(rng: np.random.Generator, channel: np.ndarray, table: tuple[dict, ...]) -> np.ndarray:
    out = np.zeros(len(channel), dtype=np.int8)
    for c, weights in enumerate(table):
        mine = np.flatnonzero(channel == c)
        keys = np.array(list(weights), dtype=np.int8)
        out[mine] = keys[weighted(rng, list(weights.values()), len(mine))]
    return out


def _channels(rng: np.random.Generator, people: People, person: np.ndarray) -> np.ndarray:
    weights = np.stack(
        [
            people.web * 1.0,
            people.app * 1.3,
            people.store * 1.1,
            people.call_center * 0.35,
            people.marketplace * 0.35,
        ],
        1,
    )[person]
    cumulative = np.cumsum(weights, 1)
    u = rng.random(len(person)) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(1)


def generate_orders(people: People, catalog: Catalog, window: Window, seed: int) -> Orders:
    rng = stream(seed, "orders")
    person = np.repeat(np.arange(people.n), rng.poisson(ORDERS_PER_PERSON * people.activity))
    m = len(person)
    channel = _channels(rng, people, person)
    hours = np.select([channel == STORE, channel == CALL_CENTER], [1, 2], 0)
    at = np.choose(
        hours,
        [
            sample_instants(rng, window, m, profile)
            for profile in (ONLINE_HOURS, STORE_HOURS, OFFICE_HOURS)
        ],
    )
    at = np.maximum(at, window.start_ms + HOUR_MS + rng.integers(0, HOUR_MS, m))
    # The app needs an account: an app order comes after its buyer registered.
    reg = people.registered_at[person]
    early_app = (channel == APP) & (at < reg)
    at[early_app] = (reg + rng.random(m) * (window.end_ms - reg))[early_app].astype(np.int64)
    day = window.day_of(at)

    store = np.full(m, -1, dtype=np.int64)
    in_store = channel == STORE
    home = people.home_store[person]
    elsewhere = rng.integers(0, catalog.stores, m)
    elsewhere = np.where(catalog.store_opening_day[elsewhere] <= day, elsewhere, home)
    store[in_store] = np.where(bernoulli(rng, 0.85, m), home, elsewhere)[in_store]

    abroad = people.country[person] != UA
    currency = np.where(
        abroad & (channel <= APP) & bernoulli(rng, 0.6, m), people.country[person], 0
    )

    count = 1 + weighted(rng, [45, 30, 15, 10], m)
    line_order, line_no = explode(count)
    product = catalog.pick(rng, day[line_order])
    repeated = (line_no > 0) & (product == np.roll(product, 1))
    product[repeated] = catalog.pick(rng, day[line_order][repeated])
    quantity = 1 + weighted(rng, [85, 12, 3], len(product))
    discount = np.where(bernoulli(rng, 0.15, m), rng.choice([0.1, 0.15, 0.2], m), 0.0)
    rate = np.array([vocab.UAH_PER[c] for c in CURRENCIES])[currency]
    uah = catalog.price_at(product, day[line_order]) * (1 - discount[line_order])
    unit_price = np.round(uah / rate[line_order]).astype(np.int64)
    total = np.bincount(line_order, weights=unit_price * quantity, minlength=m).astype(np.int64)

    status = np.zeros(m, dtype=np.int64)
    changed_at = np.full(m, NEVER)
    cancel = (channel != STORE) & bernoulli(rng, 0.04, m)
    ret = ~cancel & bernoulli(rng, 0.05, m)
    cancel_at = at + rng.integers(10 * MINUTE_MS, 36 * HOUR_MS, m)
    return_at = at + rng.integers(2 * DAY_MS, 14 * DAY_MS, m)
    for flag, when, code in ((cancel, cancel_at, CANCELLED), (ret, return_at, RETURNED)):
        happens = flag & (when < window.end_ms)
        status[happens] = code
        changed_at[happens] = when[happens]

    user, email, phone, card = _identifiers(rng, people, person, channel, at)
    style = CHANNEL_STYLE[channel]
    at = fit_to_style(at, style)
    delay = _offline_tills(rng, store, day)

    order = np.argsort(at, kind="stable")
    inverse = np.empty(m, dtype=np.int64)
    inverse[order] = np.arange(m)
    line_sort = np.lexsort((line_no, inverse[line_order]))
    orders = Orders(
        order_id=pa.array([], pa.string()),
        person=person[order],
        channel=channel[order],
        at=at[order],
        store=store[order],
        currency=currency[order],
        total=total[order],
        status=status[order],
        changed_at=changed_at[order],
        user=user[order],
        email=email[order],
        phone=phone[order],
        card=card[order],
        email_style=_styles(rng, channel, EMAIL_STYLES)[order],
        phone_style=_styles(rng, channel, PHONE_STYLES)[order],
        delay=delay[order],
        item_first=np.cumsum(count[order]) - count[order],
        item_count=count[order],
        item_product=product[line_sort],
        item_quantity=quantity[line_sort],
        item_price=unit_price[line_sort],
    )
    orders.order_id = _order_ids(rng, orders)
    for kind, slots in (
        ("user_id", orders.user),
        ("email", orders.email),
        ("phone", orders.phone),
        ("loyalty_card_id", orders.card),
    ):
        people.slots[kind].mark(slots)
    return orders


def _identifiers(
    rng: np.random.Generator,
    people: People,
    person: np.ndarray,
    channel: np.ndarray,
    at: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """The user, e-mail, phone and card slots each order's system recorded (-1: none)."""
    m = len(person)

    def keep(slots: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.where(bernoulli(rng, p, m), slots, -1)

    online = channel <= APP
    logged = (channel == APP) | bernoulli(rng, 0.9, m)
    user = np.where(online & logged & (people.registered_at[person] <= at), people.user[person], -1)
    user = np.where(channel == CALL_CENTER, keep(people.user[person], 0.3), user)
    own_email = people.email_at(person, at)
    till = people.till_email[person]
    email_rate = np.choose(channel, [0.97, 0.9, 0.04, 0.35, 0.0])
    email = keep(own_email, email_rate)
    use_till = (channel == STORE) & (till >= 0) & bernoulli(rng, 0.8, m)
    email[use_till] = till[use_till]
    card = keep(people.card[person], np.choose(channel, [0.35, 0.6, 0.75, 0.0, 0.0]))
    store_phone = np.where(card >= 0, 0.15, 0.55)
    phone_rate = np.choose(channel, [0.9, 0.9, 0.0, 1.0, 0.85]) + (channel == STORE) * store_phone
    phone = keep(people.phone[person], phone_rate)
    return user, email, phone, card


def _offline_tills(rng: np.random.Generator, store: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days late per order: now and then a till is offline and sends its whole day later."""
    key = np.where(store >= 0, store * 100_000 + day, -1)
    keys, inverse = np.unique(key, return_inverse=True)
    late = np.where(bernoulli(rng, 0.005, len(keys)), rng.integers(1, 4, len(keys)), 0)
    return np.where(key >= 0, late[inverse], 0)


def _order_ids(rng: np.random.Generator, orders: Orders) -> pa.Array:
    """Shop orders share one number sequence; tills number per store; marketplaces at random."""
    m = len(orders)
    channel, store = orders.channel, orders.store
    shop = np.isin(channel, [WEB, APP, CALL_CENTER])
    sequence = np.cumsum(shop) - 1
    till_sequence = np.zeros(m, dtype=np.int64)
    tills = np.flatnonzero(channel == STORE)
    by_store = tills[np.argsort(store[tills], kind="stable")]
    _, first = np.unique(store[by_store], return_index=True)
    within = np.arange(len(by_store)) - np.repeat(first, np.diff(np.append(first, len(by_store))))
    till_sequence[by_store] = within + 1
    width = max(6, len(str(int(till_sequence.max(initial=0)))))
    return pc.choose(
        pa.array(np.select([shop, channel == STORE], [0, 1], 2)),
        digits(3_000_000 + sequence, 7),
        concat("POS", digits(np.maximum(store, 0) + 1, 3), "-", digits(till_sequence, width)),
        concat("MP-", digits(unique_ints(rng, m, 10**8, 10**9), 9)),
    )


def order_frames(orders: Orders, people: People, catalog: Catalog) -> tuple[Frame, Frame]:
    """Orders (one row per state: placed, then cancelled or returned) and order lines."""
    placed = np.arange(len(orders))
    changed = np.flatnonzero(orders.status != COMPLETED)
    order = np.concatenate([placed, changed])
    status = np.concatenate([np.zeros(len(placed), np.int64), orders.status[changed]])
    ts = np.concatenate([orders.at, orders.changed_at[changed]])
    delay = np.concatenate([orders.delay, np.zeros(len(changed), np.int64)])
    by_time = np.argsort(ts, kind="stable")
    order, status, ts, delay = order[by_time], status[by_time], ts[by_time], delay[by_time]
    rows = pa.table(
        {
            "_ts": ts,
            "_delay": delay,
            "order_id": orders.order_id.take(pa.array(order)),
            "ordered_at": orders.at[order],
            "ts_style": CHANNEL_STYLE[orders.channel[order]],
            "channel": orders.channel[order],
            "store_id": take(catalog.store_id, orders.store[order]),
            "user_slot": orders.user[order],
            "email_slot": orders.email[order],
            "email_style": orders.email_style[order],
            "phone_slot": orders.phone[order],
            "phone_style": orders.phone_style[order],
            "card_slot": orders.card[order],
            "status": status,
            "currency": orders.currency[order],
            "total": orders.total[order],
        }
    )
    select = f"""order_id, ts_text(ordered_at, ts_style) as ordered_at,
        {sql_list(ORDER_CHANNELS)}[channel + 1] as channel, store_id, user_id,
        email_text(email, typed, email_style) as email, phone_text(phone, phone_style) as phone,
        loyalty_card_id, {sql_list(ORDER_STATUSES)}[status + 1] as status,
        {sql_list(CURRENCIES)}[currency + 1] as currency, money(total) as total_amount"""
    prepare = identifier_lookup(
        people,
        {
            "user_id": ("user_id", "user_slot"),
            "email": ("email", "email_slot"),
            "typed": ("typed_email", "email_slot"),
            "phone": ("phone", "phone_slot"),
            "loyalty_card_id": ("loyalty_card_id", "card_slot"),
        },
    )
    orders_frame = Frame("orders", rows, select, prepare)

    line_order, line_no = explode(orders.item_count)
    items = pa.table(
        {
            "_ts": orders.at[line_order],
            "_delay": orders.delay[line_order],
            "order_id": orders.order_id.take(pa.array(line_order)),
            "line_no": line_no + 1,
            "product_id": catalog.product_id.take(pa.array(orders.item_product)),
            "quantity": orders.item_quantity,
            "unit_price": orders.item_price,
        }
    )
    items_frame = Frame(
        "order_items",
        items,
        "order_id, line_no, product_id, quantity, money(unit_price) as unit_price",
    )
    return orders_frame, items_frame
