"""Web and app sessions and their Segment events: journeys that cross channels.

A session belongs to one person on one platform (web cookie, app installation, store kiosk)
and is one of: browsing, a cart left behind, a purchase (ending in `Order Completed` for a
web or app order), a sign-up, or a kiosk visit. Journeys cross channels: carts abandoned in
the app are completed on the web or in a store, abandoned-cart e-mails and pushes bring the
buyer back, blasts and paid ads bring visits (`context.campaign`, and `Push Opened` /
`Email Link Clicked` events). Visitors stay anonymous (`anonymousId` only) until they log in
or check out; the first logged-in session of a cookie or installation says `identify`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omni360.contract import MESSAGE_CHANNELS
from omni360.generator import vocab
from omni360.generator.arrays import explode, lookup
from omni360.generator.campaigns import ALL_CHANNELS, NONE, Campaigns
from omni360.generator.catalog import Catalog
from omni360.generator.clock import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    SECOND_MS,
    STORE_HOURS,
    Window,
    sample_instants,
)
from omni360.generator.commerce import APP, CALL_CENTER, MARKETPLACE, WEB, Orders
from omni360.generator.consent import ConsentPlan
from omni360.generator.people import People
from omni360.generator.randomness import bernoulli, stream, weighted

KIOSK = 2  # platform codes: WEB, APP (as order channels) and KIOSK
BROWSE, ABANDON, PURCHASE, SIGNUP, KIOSK_VISIT = range(5)

# Event kinds: (Segment type, event name or None).
EVENT_KINDS = (
    ("identify", None),
    ("page", None),
    ("screen", None),
    ("track", "Product Viewed"),
    ("track", "Product Added"),
    ("track", "Product Removed"),
    ("track", "Cart Viewed"),
    ("track", "Checkout Started"),
    ("track", "Order Completed"),
    ("track", "Signed Up"),
    ("track", "Products Searched"),
    ("track", "Push Opened"),
    ("track", "Email Link Clicked"),
    ("track", "Message Link Clicked"),
    ("track", "In-App Message Clicked"),
)
(
    IDENTIFY,
    PAGE,
    SCREEN,
    VIEWED,
    ADDED,
    REMOVED,
    CART_VIEWED,
    CHECKOUT,
    ORDER_COMPLETED,
    SIGNED_UP,
    SEARCHED,
    PUSH_OPENED,
    EMAIL_CLICKED,
    MESSAGE_CLICKED,
    IN_APP_CLICKED,
) = range(15)
DRIVER_KIND = {
    "email": EMAIL_CLICKED,
    "sms": MESSAGE_CLICKED,
    "viber": MESSAGE_CLICKED,
    "telegram": MESSAGE_CLICKED,
    "whatsapp": MESSAGE_CLICKED,
    "web_push": PUSH_OPENED,
    "mobile_push": PUSH_OPENED,
    "app_inbox": IN_APP_CLICKED,
    "in_app": IN_APP_CLICKED,
}
# Which messages bring web and app visits (weights), and how often a visit is brought.
WEB_DRIVERS = {"email": 50, "sms": 8, "viber": 20, "telegram": 10, "whatsapp": 2, "web_push": 10}
APP_DRIVERS = {"mobile_push": 70, "app_inbox": 15, "in_app": 15}
PAID = (
    ("gads_brand_search", 25),
    ("gads_generic_search", 20),
    ("gads_pmax", 15),
    ("meta_prospecting", 15),
    ("meta_retargeting", 15),
    ("tiktok_awareness", 10),
)
REFERRERS = (
    "",
    "https://www.google.com/",
    "https://www.instagram.com/",
    "https://www.facebook.com/",
    "https://www.tiktok.com/",
    "https://l.facebook.com/",
)
# Blocks of a session, in order; each contributes 0..n events.
(
    B_DRIVER,
    B_LANDING,
    B_IDENTIFY,
    B_SIGNUP,
    B_SEARCH,
    B_VIEWS,
    B_ADDED,
    B_EXTRA_ADDED,
    B_REMOVED,
    B_CART,
    B_CHECKOUT,
    B_GUEST_IDENTIFY,
    B_ORDER,
) = range(13)
BLOCKS = 13
BLOCK_KIND = np.array(
    [
        -1,
        -1,
        IDENTIFY,
        SIGNED_UP,
        SEARCHED,
        VIEWED,
        ADDED,
        ADDED,
        REMOVED,
        CART_VIEWED,
        CHECKOUT,
        IDENTIFY,
        ORDER_COMPLETED,
    ]
)


@dataclass
class Carts:
    """Carts: one per order (same index), then carts that were abandoned for good."""

    order: np.ndarray  # order index, -1 for an abandoned cart
    currency: np.ndarray
    total: np.ndarray
    item_first: np.ndarray
    item_count: np.ndarray
    product: np.ndarray  # per cart line
    quantity: np.ndarray
    price: np.ndarray


@dataclass
class Sessions:
    person: np.ndarray
    platform: np.ndarray
    kind: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cart: np.ndarray  # -1 without cart
    anon: np.ndarray  # anonymous_id slot
    device: np.ndarray  # device_id slot, -1 on the web
    token: np.ndarray  # push_token slot, -1 without
    user: np.ndarray  # user_id slot when logged in, -1 anonymous
    identify: np.ndarray  # the session says identify (with traits) after landing
    email_style: np.ndarray  # how the identify traits spell the e-mail and the phone
    phone_style: np.ndarray
    shares_card: np.ndarray  # identify traits include the loyalty card
    campaign: np.ndarray  # campaign index, -1 organic
    message: np.ndarray  # message index of the click that brought the visit (set later)
    referrer: np.ndarray  # index into REFERRERS
    search: np.ndarray  # index into vocab.SEARCH_TERMS, -1 without search
    delay: np.ndarray  # days the app uploaded the session late (offline)

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Events:
    """Events in time order (the row index is the event's identity)."""

    session: np.ndarray
    kind: np.ndarray
    at: np.ndarray
    product: np.ndarray  # -1 without product
    item: np.ndarray  # cart line (price, quantity), -1 if none
    logged: np.ndarray  # carries the userId (false before the session's identify)


@dataclass
class Journeys:
    carts: Carts
    sessions: Sessions
    events: Events


def _carts(
    rng: np.random.Generator,
    orders: Orders,
    catalog: Catalog,
    abandoned: int,
    day: np.ndarray,
) -> Carts:
    count = 1 + weighted(rng, [55, 30, 15], abandoned)
    owner, _ = explode(count)
    product = catalog.pick(rng, day[owner])
    quantity = 1 + weighted(rng, [88, 10, 2], len(product))
    price = catalog.price_at(product, day[owner])
    total = np.bincount(owner, weights=price * quantity, minlength=abandoned).astype(np.int64)
    first = np.cumsum(count) - count + len(orders.item_product)
    return Carts(
        order=np.concatenate([np.arange(len(orders)), np.full(abandoned, -1)]),
        currency=np.concatenate([orders.currency, np.zeros(abandoned, np.int64)]),
        total=np.concatenate([orders.total, total]),
        item_first=np.concatenate([orders.item_first, first]),
        item_count=np.concatenate([orders.item_count, count]),
        product=np.concatenate([orders.item_product, product]),
        quantity=np.concatenate([orders.item_quantity, quantity]),
        price=np.concatenate([orders.item_price, price]),
    )


def _pick_in_run(rng: np.random.Generator, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    return first + (rng.random(len(first)) * np.maximum(count, 1)).astype(np.int64)


def generate_journeys(
    people: People,
    catalog: Catalog,
    orders: Orders,
    campaigns: Campaigns,
    consents: ConsentPlan,
    window: Window,
    seed: int,
) -> Journeys:
    rng = stream(seed, "journeys")
    everyone = np.arange(people.n)
    online = people.web | people.app

    # Purchases of web and app orders; carts left in another channel before some orders.
    bought = np.flatnonzero(orders.channel <= APP)
    recover = np.flatnonzero(
        ~np.isin(orders.channel, [CALL_CENTER, MARKETPLACE])
        & online[orders.person]
        & bernoulli(rng, 0.2, len(orders))
    )
    left_at = orders.at[recover] - rng.integers(HOUR_MS, 72 * HOUR_MS, len(recover))
    keep = left_at > window.start_ms + 10 * MINUTE_MS
    recover, left_at = recover[keep], left_at[keep]
    p_rec = orders.person[recover]
    on_app = np.where(orders.channel[recover] == APP, ~people.web[p_rec], people.app[p_rec])
    recovered = np.zeros(len(orders), dtype=bool)
    recovered[recover] = True

    # Carts abandoned for good, browsing, sign-ups, kiosk visits.
    n_abandon = rng.poisson(0.45 * people.activity) * online
    n_browse = rng.poisson(1.0 * people.activity) * online
    abandon_person = np.repeat(everyone, n_abandon)
    browse_person = np.repeat(everyone, n_browse)
    signup_person = everyone[
        (people.registered_at >= window.start_ms) & (people.registered_at < window.end_ms) & online
    ]
    kiosk_person = np.repeat(
        everyone[people.kiosk >= 0], 1 + bernoulli(rng, 0.5, int((people.kiosk >= 0).sum()))
    )
    abandon_at = sample_instants(rng, window, len(abandon_person))
    carts = _carts(rng, orders, catalog, len(abandon_person), window.day_of(abandon_at))

    def prefer_app(person: np.ndarray, p: float) -> np.ndarray:
        return people.app[person] & (~people.web[person] | bernoulli(rng, p, len(person)))

    parts = [  # (person, platform, kind, cart, anchor instant, anchor is the session's end)
        (orders.person[bought], orders.channel[bought], PURCHASE, bought, orders.at[bought], True),
        (p_rec, np.where(on_app, APP, WEB), ABANDON, recover, left_at, False),
        (
            abandon_person,
            np.where(prefer_app(abandon_person, 0.55), APP, WEB),
            ABANDON,
            len(orders) + np.arange(len(abandon_person)),
            abandon_at,
            False,
        ),
        (
            browse_person,
            np.where(prefer_app(browse_person, 0.5), APP, WEB),
            BROWSE,
            np.full(len(browse_person), -1),
            sample_instants(rng, window, len(browse_person)),
            False,
        ),
        (
            signup_person,
            np.where(prefer_app(signup_person, 0.4), APP, WEB),
            SIGNUP,
            np.full(len(signup_person), -1),
            people.registered_at[signup_person],
            True,
        ),
        (
            kiosk_person,
            np.full(len(kiosk_person), KIOSK),
            KIOSK_VISIT,
            np.full(len(kiosk_person), -1),
            sample_instants(rng, window, len(kiosk_person), STORE_HOURS),
            False,
        ),
    ]
    person = np.concatenate([p[0] for p in parts])
    platform = np.concatenate([p[1] for p in parts]).astype(np.int64)
    kind = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    cart = np.concatenate([p[3] for p in parts]).astype(np.int64)
    anchor = np.concatenate([p[4] for p in parts]).astype(np.int64)
    anchored_end = np.concatenate([np.full(len(p[0]), p[5]) for p in parts])
    s = len(person)

    anon, device, token = _installations(rng, people, person, platform)
    user = _logins(rng, people, orders, person, platform, kind, cart, anchor)
    identify = _first_logins(rng, anon, anchor, user) | (kind == KIOSK_VISIT)
    session_orders = np.where(kind == PURCHASE, cart, -1)
    campaign, referrer = _sources(
        rng,
        consents,
        campaigns,
        window,
        person,
        platform,
        kind,
        anchor,
        token,
        user,
        lookup(recovered, session_orders, 0) > 0,
    )
    search = np.where(
        np.isin(kind, [BROWSE, ABANDON]) & bernoulli(rng, 0.25, s),
        rng.integers(0, len(vocab.SEARCH_TERMS), s),
        -1,
    )
    sessions = Sessions(
        person=person.astype(np.int32),
        platform=platform.astype(np.int8),
        kind=kind.astype(np.int8),
        start=anchor,
        end=anchor,
        cart=cart.astype(np.int32),
        anon=anon.astype(np.int32),
        device=device.astype(np.int32),
        token=token.astype(np.int32),
        user=user.astype(np.int32),
        identify=identify,
        email_style=np.where(platform == WEB, weighted(rng, [55, 35, 0, 0, 0, 10], s), 0).astype(
            np.int8
        ),
        phone_style=np.where(platform == WEB, weighted(rng, [5, 3, 2], s), 0).astype(np.int8),
        shares_card=bernoulli(rng, 0.5, s) | (kind == KIOSK_VISIT),
        campaign=campaign.astype(np.int32),
        message=np.full(s, -1, dtype=np.int32),
        referrer=referrer.astype(np.int8),
        search=search.astype(np.int8),
        delay=_offline_uploads(rng, platform, anchor, window).astype(np.int8),
    )
    events = _events(rng, sessions, carts, catalog, campaigns, window, anchored_end)
    for kind_name, slots in (
        ("anonymous_id", anon),
        ("device_id", device),
        ("push_token", token),
        ("user_id", user),
    ):
        people.slots[kind_name].mark(slots)
    return Journeys(carts, sessions, events)


def _offline_uploads(
    rng: np.random.Generator, platform: np.ndarray, at: np.ndarray, window: Window
) -> np.ndarray:
    """Days late per session: on a few days part of the app traffic is uploaded late."""
    late_days = np.where(bernoulli(rng, 0.06, window.days), rng.integers(1, 3, window.days), 0)
    delay = late_days[window.day_of(at)]
    return np.where((platform != WEB) & bernoulli(rng, 0.3, len(at)), delay, 0)


def _installations(
    rng: np.random.Generator, people: People, person: np.ndarray, platform: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cookie or app installation of each session, its device and push token."""
    s = len(person)
    cookie = _pick_in_run(rng, people.cookie_first[person], people.cookie_count[person])
    own = _pick_in_run(rng, people.device_first[person], people.device_count[person])
    tablet = people.tablet[person]
    device = np.where((tablet >= 0) & bernoulli(rng, 0.4, s), tablet, own)
    device = np.select([platform == WEB, platform == KIOSK], [-1, people.kiosk[person]], device)
    anon = np.where(platform == WEB, cookie, lookup(people.devices.install, device))
    web_token = np.full(s, -1, dtype=np.int64)
    web = np.flatnonzero(platform == WEB)
    web_token[web] = people.cookie_token[cookie[web]]
    token = np.where(platform == WEB, web_token, lookup(people.devices.token, device))
    return anon, device, np.where(platform == KIOSK, -1, token)


def _logins(
    rng: np.random.Generator,
    people: People,
    orders: Orders,
    person: np.ndarray,
    platform: np.ndarray,
    kind: np.ndarray,
    cart: np.ndarray,
    at: np.ndarray,
) -> np.ndarray:
    """The user slot of sessions where the person is logged in, else -1."""
    member = (people.user[person] >= 0) & (people.registered_at[person] <= at)
    purchase = kind == PURCHASE
    checked_out_logged = np.zeros(len(person), dtype=bool)
    checked_out_logged[purchase] = orders.user[cart[purchase]] >= 0
    logged = np.select(
        [purchase, kind == SIGNUP, platform == WEB],
        [checked_out_logged, True, bernoulli(rng, 0.55, len(person))],
        True,
    )
    return np.where(member & logged | (kind == SIGNUP), people.user[person], -1)


def _first_logins(
    rng: np.random.Generator, anon: np.ndarray, at: np.ndarray, user: np.ndarray
) -> np.ndarray:
    """Identify on the first logged-in session of each cookie/installation, and now and then."""
    logged = np.flatnonzero(user >= 0)
    order = logged[np.lexsort((at[logged], anon[logged]))]
    first = np.zeros(len(anon), dtype=bool)
    if len(order):
        starts = np.concatenate([[True], anon[order][1:] != anon[order][:-1]])
        first[order[starts]] = True
    return first | ((user >= 0) & bernoulli(rng, 0.1, len(anon)))


def _sources(
    rng: np.random.Generator,
    consents: ConsentPlan,
    campaigns: Campaigns,
    window: Window,
    person: np.ndarray,
    platform: np.ndarray,
    kind: np.ndarray,
    at: np.ndarray,
    token: np.ndarray,
    user: np.ndarray,
    recovered: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which campaign brought each session (-1 organic), and the landing page's referrer."""
    s = len(person)
    campaign = np.full(s, NONE)
    open_to = np.isin(kind, [BROWSE, ABANDON, PURCHASE])
    for drivers, on, rate in (
        (WEB_DRIVERS, platform == WEB, 0.25),
        (APP_DRIVERS, platform == APP, 0.22),
    ):
        names = list(drivers)
        channel = np.array(names)[weighted(rng, list(drivers.values()), s)]
        driven = open_to & on & bernoulli(rng, rate, s)
        for name in names:
            mine = np.flatnonzero(driven & (channel == name))
            found = campaigns.latest_blast(name, at[mine], 3 * DAY_MS)
            if name == "in_app":
                found[:] = campaigns.named("inapp_promo_banner")
            sent = np.where(campaigns.send_at[found] != NONE, campaigns.send_at[found], at[mine])
            ok = (found != NONE) & consents.eligible(name, person[mine], sent)
            ok &= consents.eligible(name, person[mine], at[mine])
            if name in ("mobile_push", "web_push"):
                ok &= token[mine] >= 0
            if name in ("in_app", "app_inbox"):
                ok &= user[mine] >= 0
            campaign[mine[ok]] = found[ok]
    # An abandoned-cart reminder brings the buyer back for most recovered web and app orders.
    for name, channel, on in (
        ("em_abandoned_cart", "email", platform == WEB),
        ("push_abandoned_cart", "mobile_push", platform == APP),
    ):
        mine = np.flatnonzero(recovered & on & bernoulli(rng, 0.7, s))
        ok = consents.eligible(channel, person[mine], at[mine])
        if channel == "mobile_push":
            ok &= token[mine] >= 0
        campaign[mine[ok]] = campaigns.named(name)
    # Paid ads bring some of the remaining web visits.
    paid = np.flatnonzero(open_to & (platform == WEB) & (campaign == NONE) & bernoulli(rng, 0.2, s))
    names = [n for n, _ in PAID]
    choice = np.array([campaigns.named(n) for n in names])[
        weighted(rng, [w for _, w in PAID], len(paid))
    ]
    started = campaigns.first_day[choice] <= window.day_of(at[paid])
    campaign[paid] = np.where(started, choice, campaigns.named("gads_brand_search"))
    channel_of = lookup(campaigns.channel, campaign)
    organic_ref = weighted(rng, [40, 35, 10, 10, 0, 5], s)
    referrer = np.select(
        [
            channel_of == ALL_CHANNELS.index("google_ads"),
            channel_of == ALL_CHANNELS.index("meta_ads"),
            channel_of == ALL_CHANNELS.index("tiktok_ads"),
            channel_of >= 0,
        ],
        [1, np.where(bernoulli(rng, 0.5, s), 2, 5), 4, 0],
        organic_ref,
    )
    return campaign, np.where(platform == WEB, referrer, -1)


def _events(
    rng: np.random.Generator,
    sessions: Sessions,
    carts: Carts,
    catalog: Catalog,
    campaigns: Campaigns,
    window: Window,
    anchored_end: np.ndarray,
) -> Events:
    s = len(sessions)
    kind, platform = sessions.kind, sessions.platform
    items = lookup(carts.item_count, sessions.cart, 0)
    has_cart = np.isin(kind, [ABANDON, PURCHASE])
    purchase = kind == PURCHASE
    extra_views = np.select(
        [kind == BROWSE, kind == KIOSK_VISIT],
        [1 + rng.poisson(1.6, s), 1 + rng.poisson(2.0, s)],
        rng.poisson(0.5, s),
    )
    fiddles = has_cart & bernoulli(rng, 0.12, s)
    channel = lookup(campaigns.channel, sessions.campaign)
    counts = np.zeros((s, BLOCKS), dtype=np.int32)
    counts[:, B_DRIVER] = (channel >= 0) & (channel < len(MESSAGE_CHANNELS))
    counts[:, B_LANDING] = 1
    counts[:, B_IDENTIFY] = sessions.identify | (kind == SIGNUP)
    counts[:, B_SIGNUP] = kind == SIGNUP
    counts[:, B_SEARCH] = sessions.search >= 0
    counts[:, B_VIEWS] = np.where(kind == SIGNUP, 0, np.where(has_cart, items, 0) + extra_views)
    counts[:, B_ADDED] = np.where(has_cart, items, 0)
    counts[:, B_EXTRA_ADDED] = counts[:, B_REMOVED] = fiddles
    counts[:, B_CART] = purchase | ((kind == ABANDON) & bernoulli(rng, 0.8, s))
    counts[:, B_CHECKOUT] = purchase | ((kind == ABANDON) & bernoulli(rng, 0.3, s))
    counts[:, B_GUEST_IDENTIFY] = purchase & (platform == WEB) & (sessions.user < 0)
    counts[:, B_ORDER] = purchase
    per_session = counts.sum(1)

    # One element per event: its session, block and position within the block.
    flat = counts.ravel()
    runs = np.flatnonzero(flat)
    run, j = explode(flat[runs])
    session = (runs[run] // BLOCKS).astype(np.int32)
    block = (runs[run] % BLOCKS).astype(np.int8)
    j = j.astype(np.int32)
    del run, runs, flat
    n = len(session)

    kind_of = BLOCK_KIND.astype(np.int8)[block]
    landing = block == B_LANDING
    kind_of[landing] = np.where(platform[session[landing]] == WEB, PAGE, SCREEN)
    driver = block == B_DRIVER
    driver_kind = np.array([DRIVER_KIND.get(c, PAGE) for c in ALL_CHANNELS], dtype=np.int8)
    kind_of[driver] = driver_kind[channel[session[driver]]]
    logged = sessions.user[session] >= 0
    logged &= ~((block < B_IDENTIFY) & (counts[session, B_IDENTIFY] > 0))

    item = np.full(n, -1, dtype=np.int32)
    from_cart = block == B_ADDED
    from_cart |= (block == B_VIEWS) & (j < items[session])
    cart_of = sessions.cart[session[from_cart]]
    item[from_cart] = carts.item_first[cart_of] + j[from_cart]
    del cart_of, j
    product = np.full(n, -1, dtype=np.int32)
    product[from_cart] = carts.product[item[from_cart]]
    browsing = (block == B_VIEWS) & ~from_cart
    del from_cart
    product[browsing] = catalog.pick(rng, window.day_of(sessions.start[session[browsing]]))
    del browsing
    extra = catalog.pick(rng, window.day_of(sessions.start))
    fiddle = (block == B_EXTRA_ADDED) | (block == B_REMOVED)
    product[fiddle] = extra[session[fiddle]]
    del fiddle

    # Timing: a few seconds to a minute between events; some sessions end at a known moment.
    at = SECOND_MS * 2 + rng.exponential(30 * SECOND_MS, n).astype(np.int64)
    at[driver] = rng.integers(300, 3 * SECOND_MS, int(driver.sum()))
    del driver
    run_first = np.cumsum(per_session) - per_session
    at[run_first] = 0
    np.cumsum(at, out=at)
    at -= np.repeat(at[run_first], per_session)
    last = run_first + per_session - 1
    anchor_event = np.where(kind == SIGNUP, run_first + counts[:, :B_SIGNUP].sum(1), last)
    start = np.where(anchored_end, sessions.start - at[anchor_event], sessions.start)
    start = np.clip(start, window.start_ms, window.end_ms - 1 - at[last])
    sessions.start, sessions.end = start, start + at[last]
    at += np.repeat(start, per_session)

    order = np.argsort(at)
    return Events(
        session=session[order],
        kind=kind_of[order],
        at=at[order],
        product=product[order],
        item=item[order],
        logged=logged[order],
    )
