"""Support tickets, the interactions within them, and NPS / CES / CSAT survey answers.

A ticket starts on one channel (phone, chat, e-mail, Telegram, Viber, WhatsApp, in a store)
and knows the identifiers of that channel. A bot settles some chat and messenger tickets in
one exchange; others go to agents over several interactions, sometimes switching channel;
some stay unresolved. A ticket is exported when opened and again when resolved on a later
day. Surveys follow orders (NPS, checkout CES) and resolved tickets (CSAT, CES).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from omni360.contract import ORDER_CHANNELS, SUPPORT_CHANNELS, SURVEY_SCALES, SURVEY_TYPES
from omni360.generator import vocab
from omni360.generator.arrays import explode, lookup
from omni360.generator.clock import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    OFFICE_HOURS,
    SECOND_MS,
    Style,
    Window,
    fit_to_style,
    sample_instants,
)
from omni360.generator.commerce import (
    CALL_CENTER,
    CANCELLED,
    COMPLETED,
    MARKETPLACE,
    RETURNED,
    STORE,
    Orders,
)
from omni360.generator.formats import Email, Phone, sql_list
from omni360.generator.frames import Frame, identifier_lookup
from omni360.generator.people import People
from omni360.generator.randomness import bernoulli, stream, weighted
from omni360.generator.textops import choose, concat, digits

PHONE, CHAT, EMAIL, TELEGRAM, WHATSAPP, VIBER, IN_STORE = range(7)  # SUPPORT_CHANNELS order
BOT_CHANNELS = (CHAT, TELEGRAM, VIBER)
NEVER = np.iinfo(np.int64).max
TICKETS_PER_PERSON = 0.2
TOPIC = {name: i for i, name in enumerate(vocab.TICKET_TOPICS)}
# Score weights per survey type, lowest score first.
SCORE_WEIGHTS = {
    "nps": (3, 1, 2, 2, 3, 5, 6, 10, 18, 24, 26),
    "ces": (3, 4, 7, 12, 20, 27, 27),
    "csat": (6, 6, 12, 30, 46),
}


@dataclass
class Tickets:
    person: np.ndarray
    channel: np.ndarray  # first channel
    topic: np.ndarray
    opened_at: np.ndarray
    resolved_at: np.ndarray  # NEVER when unresolved
    user: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    telegram: np.ndarray
    # interactions
    step_ticket: np.ndarray
    step_at: np.ndarray
    step_channel: np.ndarray
    step_inbound: np.ndarray
    step_bot: np.ndarray


def generate_tickets(people: People, orders: Orders, window: Window, seed: int) -> Tickets:
    rng = stream(seed, "tickets")
    total = round(TICKETS_PER_PERSON * people.n)
    about_order = bernoulli(rng, 0.45, total) & (len(orders) > 0)
    order = np.where(about_order, rng.integers(0, max(len(orders), 1), total), -1)

    def of_order(values: np.ndarray, default: int) -> np.ndarray:
        return lookup(values, order, default)

    weights = people.activity / people.activity.sum()
    person = np.where(
        about_order, of_order(orders.person, 0), rng.choice(people.n, size=total, p=weights)
    )
    status = of_order(orders.status, -1)
    topic = np.select(
        [status == RETURNED, status == CANCELLED, status == COMPLETED],
        [
            TOPIC["return_request"],
            TOPIC["order_change"],
            np.array([TOPIC[t] for t in ("delivery_delay", "product_question", "payment_issue")])[
                rng.integers(0, 3, total)
            ],
        ],
        np.array(
            [
                TOPIC[t]
                for t in ("loyalty_points", "account_access", "product_question", "complaint")
            ]
        )[rng.integers(0, 4, total)],
    )
    base = np.where(
        status == RETURNED, of_order(orders.changed_at, 0) - DAY_MS, of_order(orders.at, 0)
    )
    opened = np.where(
        about_order,
        base + rng.integers(HOUR_MS, 5 * DAY_MS, total),
        sample_instants(rng, window, total, OFFICE_HOURS),
    )
    keep = (opened >= window.start_ms) & (opened < window.end_ms - HOUR_MS)
    in_store = (of_order(orders.channel, -1) == STORE)[keep]
    person, topic, opened = person[keep], topic[keep], opened[keep]
    t = len(person)

    channel = weighted(rng, [30, 28, 14, 12, 4, 8, 4], t)
    channel = np.where(in_store & bernoulli(rng, 0.3, t), IN_STORE, channel)
    lacks = np.select(
        [
            channel == TELEGRAM,
            np.isin(channel, [PHONE, WHATSAPP, VIBER, IN_STORE]),
            channel == EMAIL,
        ],
        [people.telegram[person] < 0, people.phone[person] < 0, people.email[person] < 0],
        False,
    )
    channel = np.where(lacks, CHAT, channel)
    user = np.where((channel == CHAT) & bernoulli(rng, 0.7, t), people.user[person], -1)
    email = np.where(
        (channel == EMAIL) | ((channel == CHAT) & bernoulli(rng, 0.5, t)),
        people.email_at(person, opened),
        -1,
    )
    phone = np.where(np.isin(channel, [PHONE, WHATSAPP, VIBER, IN_STORE]), people.phone[person], -1)
    telegram = np.where(channel == TELEGRAM, people.telegram[person], -1)

    # Interactions: a bot exchange, or agents over several contacts.
    bot_first = np.isin(channel, BOT_CHANNELS)
    by_bot = bot_first & bernoulli(rng, 0.35, t)
    count = np.where(by_bot, 2, 2 + rng.poisson(1.5, t))
    ticket, step = explode(count)
    inbound = step % 2 == 0
    gap = np.where(
        by_bot[ticket],
        rng.integers(5 * SECOND_MS, 60 * SECOND_MS, len(ticket)),
        rng.lognormal(15.5, 1.3, len(ticket)).astype(np.int64) + MINUTE_MS,
    )
    gap[step == 0] = 0
    at = opened[ticket] + _cumulative(gap, count)
    step_channel = channel[ticket].copy()
    switch = ~by_bot[ticket] & (step >= 2) & bernoulli(rng, 0.15, len(ticket))
    step_channel[switch] = np.where(phone[ticket][switch] >= 0, PHONE, EMAIL)
    bot = np.where(step == 0, bot_first[ticket], by_bot[ticket])
    bot &= step_channel != IN_STORE
    last = np.cumsum(count) - 1
    unresolved = ~by_bot & bernoulli(rng, 0.1, t)
    resolved = at[last] + rng.integers(MINUTE_MS, 2 * HOUR_MS, t)
    resolved = np.where(unresolved | (resolved >= window.end_ms), NEVER, resolved)
    keep_step = at < window.end_ms
    for kind, slots in (
        ("user_id", user),
        ("email", email),
        ("phone", phone),
        ("telegram_id", telegram),
    ):
        people.slots[kind].mark(slots)
    return Tickets(
        person,
        channel,
        topic,
        opened,
        resolved,
        user,
        email,
        phone,
        telegram,
        ticket[keep_step],
        at[keep_step],
        step_channel[keep_step],
        inbound[keep_step],
        bot[keep_step],
    )


def _cumulative(gap: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Running sum of gaps within each run of `count` elements."""
    total = np.cumsum(gap)
    first = np.cumsum(count) - count
    return total - np.repeat(total[first] - gap[first], count)


def ticket_frames(tickets: Tickets, people: People, seed: int) -> tuple[Frame, Frame]:
    rng = stream(seed, "ticket-rows")
    t = len(tickets.person)
    opened = fit_to_style(tickets.opened_at, np.full(t, Style.LOCAL))
    resolved = np.where(
        tickets.resolved_at < NEVER,
        fit_to_style(tickets.resolved_at, np.full(t, Style.LOCAL)),
        NEVER,
    )
    order = np.argsort(opened, kind="stable")
    ticket_id = concat("TCK-", digits(np.argsort(order) + 100_001, 7))
    same_day = (resolved < NEVER) & (resolved // DAY_MS == opened // DAY_MS)
    later = (resolved < NEVER) & ~same_day
    # Opened (unresolved) rows, and rows of tickets resolved later.
    row_ticket = np.concatenate([np.arange(t), np.flatnonzero(later)])
    row_resolved = np.concatenate([np.where(same_day, resolved, NEVER), resolved[later]])
    ts = np.concatenate([np.where(same_day, resolved, opened), resolved[later]])
    by_time = np.argsort(ts, kind="stable")
    row_ticket, row_resolved, ts = row_ticket[by_time], row_resolved[by_time], ts[by_time]
    phone_style = np.where(bernoulli(rng, 0.6, t), Phone.NATIONAL, Phone.E164)
    rows = pa.table(
        {
            "_ts": ts,
            "ticket_id": ticket_id.take(pa.array(row_ticket)),
            "opened_at": opened[row_ticket],
            "resolved_at": pa.array(row_resolved, mask=row_resolved == NEVER),
            "channel": tickets.channel[row_ticket],
            "topic": tickets.topic[row_ticket],
            "user_slot": tickets.user[row_ticket],
            "email_slot": tickets.email[row_ticket],
            "phone_slot": tickets.phone[row_ticket],
            "phone_style": phone_style[row_ticket],
            "telegram_slot": tickets.telegram[row_ticket],
        }
    )
    channels = sql_list(SUPPORT_CHANNELS)
    select = f"""ticket_id, ts_text(opened_at, {Style.LOCAL:d}) as opened_at,
        ts_text(resolved_at, {Style.LOCAL:d}) as resolved_at,
        {channels}[channel + 1] as first_channel,
        {sql_list(vocab.TICKET_TOPICS)}[topic + 1] as topic, user_id,
        email_text(email, typed, {Email.LOWER:d}) as email,
        phone_text(phone, phone_style) as phone, telegram_id"""
    prepare = identifier_lookup(
        people,
        {
            "user_id": ("user_id", "user_slot"),
            "email": ("email", "email_slot"),
            "typed": ("typed_email", "email_slot"),
            "phone": ("phone", "phone_slot"),
            "telegram_id": ("telegram_id", "telegram_slot"),
        },
    )
    ticket_frame = Frame("support_tickets", rows, select, prepare)

    step_style = np.where(bernoulli(rng, 0.5, len(tickets.step_at)), Style.NAIVE_UTC, Style.Z)
    step_at = fit_to_style(tickets.step_at, step_style)
    by_time = np.argsort(step_at, kind="stable")
    steps = pa.table(
        {
            "_ts": step_at[by_time],
            "interaction_id": concat("INT-", digits(np.arange(1, len(by_time) + 1) + 10**7, 8)),
            "ticket_id": ticket_id.take(pa.array(tickets.step_ticket[by_time])),
            "ts_style": step_style[by_time],
            "channel": tickets.step_channel[by_time],
            "inbound": tickets.step_inbound[by_time],
            "bot": tickets.step_bot[by_time],
        }
    )
    steps_select = f"""interaction_id, ticket_id, ts_text(_ts, ts_style) as occurred_at,
        {channels}[channel + 1] as channel,
        case when inbound then 'inbound' else 'outbound' end as direction,
        case when bot then 'bot' else 'agent' end as handled_by"""
    return ticket_frame, Frame("support_interactions", steps, steps_select)


def survey_frame(
    people: People, orders: Orders, tickets: Tickets, window: Window, seed: int
) -> Frame:
    """NPS after orders, CES after checkouts and tickets, CSAT after resolved tickets."""
    rng = stream(seed, "surveys")
    completed = np.flatnonzero((orders.status == COMPLETED) & (orders.channel != MARKETPLACE))
    nps = completed[bernoulli(rng, 0.1, len(completed))]
    online = completed[(orders.channel[completed] <= 1) & bernoulli(rng, 0.03, len(completed))]
    done = np.flatnonzero(tickets.resolved_at < NEVER)
    csat = done[bernoulli(rng, 0.45, len(done))]
    ces = done[bernoulli(rng, 0.3, len(done))]
    order_rows = np.concatenate([nps, online])
    ticket_rows = np.concatenate([csat, ces])
    survey = np.concatenate(
        [
            np.zeros(len(nps), np.int64),
            np.ones(len(online), np.int64),
            np.full(len(csat), 2),
            np.ones(len(ces), np.int64),
        ]
    )
    person = np.concatenate([orders.person[order_rows], tickets.person[ticket_rows]])
    after = np.concatenate([orders.at[order_rows], tickets.resolved_at[ticket_rows]])
    delay = np.concatenate(
        [
            rng.integers(DAY_MS, 7 * DAY_MS, len(order_rows)),
            rng.integers(5 * MINUTE_MS, DAY_MS, len(ticket_rows)),
        ]
    )
    at = fit_to_style(after + delay, np.full(len(after), Style.Z))
    touch = np.concatenate(
        [
            orders.channel[order_rows],
            len(ORDER_CHANNELS) + tickets.channel[ticket_rows],
        ]
    )
    from_order = np.arange(len(person)) < len(order_rows)
    by_store = from_order & np.isin(touch, [STORE, CALL_CENTER])  # they text a survey link
    user = np.where(
        from_order & ~by_store,
        np.concatenate([orders.user[order_rows], tickets.user[ticket_rows]]),
        -1,
    )
    email = np.where(
        ~by_store, np.concatenate([orders.email[order_rows], tickets.email[ticket_rows]]), -1
    )
    phone = np.where(
        by_store | ~from_order,
        np.concatenate([orders.phone[order_rows], tickets.phone[ticket_rows]]),
        -1,
    )
    score = np.zeros(len(person), dtype=np.int64)
    for code, name in enumerate(SURVEY_TYPES):
        mine = np.flatnonzero(survey == code)
        low, _ = SURVEY_SCALES[name]
        score[mine] = low + weighted(rng, SCORE_WEIGHTS[name], len(mine))
    band = _band(survey, score)
    comment = np.where(bernoulli(rng, 0.35, len(person)), band, -1)
    keep = (at < window.end_ms) & ((user >= 0) | (email >= 0) | (phone >= 0))
    order = np.flatnonzero(keep)[np.argsort(at[keep], kind="stable")]
    comments = [*vocab.COMMENTS["low"], *vocab.COMMENTS["mid"], *vocab.COMMENTS["high"]]
    offsets = np.cumsum([0, len(vocab.COMMENTS["low"]), len(vocab.COMMENTS["mid"])])
    sizes = np.array([len(vocab.COMMENTS[b]) for b in ("low", "mid", "high")])
    pick = np.where(
        comment >= 0,
        offsets[np.maximum(comment, 0)]
        + rng.integers(0, 1 << 30, len(person)) % sizes[np.maximum(comment, 0)],
        -1,
    )
    for kind, slots in (("user_id", user), ("email", email), ("phone", phone)):
        people.slots[kind].mark(slots[order])
    touchpoints = (*ORDER_CHANNELS, *SUPPORT_CHANNELS)
    rows = pa.table(
        {
            "_ts": at[order],
            "response_id": concat("RSP-", digits(np.arange(1, len(order) + 1), 8)),
            "survey": survey[order],
            "score": score[order],
            "touch": touch[order],
            "user_slot": user[order],
            "email_slot": email[order],
            "phone_slot": phone[order],
            "comment": choose(comments, pick[order]),
        }
    )
    select = f"""response_id, ts_text(_ts, {Style.Z:d}) as responded_at,
        {sql_list(SURVEY_TYPES)}[survey + 1] as survey_type, score,
        {sql_list(touchpoints)}[touch + 1] as touchpoint_channel, user_id,
        email_text(email, typed, {Email.LOWER:d}) as email,
        phone_text(phone, {Phone.E164:d}) as phone, comment"""
    prepare = identifier_lookup(
        people,
        {
            "user_id": ("user_id", "user_slot"),
            "email": ("email", "email_slot"),
            "typed": ("typed_email", "email_slot"),
            "phone": ("phone", "phone_slot"),
        },
    )
    return Frame("survey_responses", rows, select, prepare)


def _band(survey: np.ndarray, score: np.ndarray) -> np.ndarray:
    """0 low, 1 middle, 2 high, by survey type."""
    nps = np.digitize(score, [7, 9])
    ces = np.digitize(score, [4, 6])
    csat = np.digitize(score, [3, 4])
    return np.choose(survey, [nps, ces, csat])
