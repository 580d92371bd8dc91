"""Messages on every channel and what the messaging platforms report back about them.

Messages come from blast audiences, triggers (welcome, abandoned cart), the clicks that
brought a web or app visit, and the messages through which people opted out. A message goes
only to an identifier opted in at the time (in-app and inbox messages go to app users). Its
report: `sent`, then `delivered` or `bounced`/`failed`, maybe `opened` and `clicked`, and
`unsubscribed`/`complained` exactly when the consent history says the person opted out.
Costs are per message in UAH, on `sent` (or on `delivered` where the provider bills that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omni360.contract import MESSAGE_CHANNELS, MESSAGE_EVENT_TYPES
from omni360.generator.campaigns import NONE, Campaigns
from omni360.generator.clock import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    SECOND_MS,
    Style,
    Window,
    fit_to_style,
)
from omni360.generator.consent import KINDS, NEVER, SOURCES, ConsentPlan
from omni360.generator.formats import Email, Phone, sql_list
from omni360.generator.frames import Frame
from omni360.generator.journeys import ABANDON, APP, WEB, Journeys
from omni360.generator.people import UA, People
from omni360.generator.randomness import bernoulli, stream
from omni360.generator.textops import concat, digits, hex_strings, take

SENT, DELIVERED, OPENED, CLICKED, BOUNCED, FAILED, UNSUBSCRIBED, COMPLAINED = range(8)
DEVICE = KINDS.index("device_id")
# Per channel: blast messages per person over the window, delivery rate, open rate
# (0: the channel reports no opens), click rate (of opened, or of delivered without opens),
# cost per message in 1/10000 UAH, billed on delivery (else on sending), timestamp style.
RULES = {
    "email": (1.9, 0.97, 0.28, 0.12, 120, False, Style.Z_MS),
    "sms": (0.2, 0.95, 0.0, 0.03, 13_500, False, Style.NAIVE_UTC),
    "viber": (0.6, 0.9, 0.7, 0.08, 9_500, True, Style.LOCAL),
    "telegram": (0.35, 0.97, 0.6, 0.1, 0, False, Style.Z),
    "whatsapp": (0.05, 0.95, 0.75, 0.1, 16_000, True, Style.Z),
    "web_push": (0.2, 0.85, 0.04, 0.0, 50, False, Style.Z_MS),
    "mobile_push": (0.95, 0.9, 0.06, 0.0, 5, False, Style.Z_MS),
    "app_inbox": (0.2, 1.0, 0.2, 0.25, 0, False, Style.UTC_MICROS),
    "in_app": (0.0, 1.0, 0.0, 0.1, 0, False, Style.UTC_MICROS),
}
ABROAD_SMS_COST = 32_000
REPORT_CHUNK = 1_000_000


@dataclass
class Messages:
    person: np.ndarray
    channel: np.ndarray  # index into MESSAGE_CHANNELS
    campaign: np.ndarray
    sent_at: np.ndarray
    kind: np.ndarray  # recipient identifier type (consent.KINDS)
    slot: np.ndarray  # recipient identifier slot
    message_id: pa.Array
    # delivery reports, in time order
    event_message: np.ndarray
    event_type: np.ndarray
    event_at: np.ndarray
    event_cost: np.ndarray  # 1/10000 UAH, -1 when the report carries no cost


def _recipients(
    people: People, consents: ConsentPlan, channel: str, person: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    if channel in consents.channels:
        plan = consents.channels[channel]
        return plan.kind[person], plan.slot[person]
    device = np.where(people.device_count[person] > 0, people.device_first[person], -1)
    return np.where(device >= 0, DEVICE, -1), device


def _eligible(
    people: People, consents: ConsentPlan, channel: str, person: np.ndarray, at: np.ndarray
) -> np.ndarray:
    if channel in consents.channels:
        return consents.eligible(channel, person, at)
    return (people.device_count[person] > 0) & (people.registered_at[person] <= at)


def generate_messages(
    people: People,
    consents: ConsentPlan,
    campaigns: Campaigns,
    journeys: Journeys,
    window: Window,
    seed: int,
) -> Messages:
    rng = stream(seed, "messages")
    candidates = [
        _opt_outs(rng, consents, campaigns),
        _clicks(rng, journeys, campaigns, consents, window),
        _triggers(rng, people, consents, campaigns, journeys, window),
        _audiences(rng, people, consents, campaigns),
    ]
    # Columns: person, campaign, sent_at, click_at, opt_out_at, opt_out_type, key, session.
    table = [np.concatenate([c[i] for c in candidates]) for i in range(8)]
    person, campaign, sent_at, click_at, out_at, out_type, key, session = table
    # Candidates that are the same message merge: the first one's sending, the earliest click.
    order = np.lexsort((np.arange(len(key)), key))
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    group = np.cumsum(first) - 1
    keep = order[first]
    click = np.full(len(keep), NEVER)
    np.minimum.at(click, group, click_at[order])
    opt_out = np.full(len(keep), NEVER)
    np.minimum.at(opt_out, group, out_at[order])
    kind_out = np.zeros(len(keep), dtype=np.int64)
    np.maximum.at(kind_out, group, out_type[order])
    message_of = np.empty(len(key), dtype=np.int64)
    message_of[order] = group

    person, campaign, sent_at = person[keep], campaign[keep], sent_at[keep]
    channel = campaigns.channel[campaign]
    kind = np.full(len(keep), -1)
    slot = np.full(len(keep), -1)
    for c, name in enumerate(MESSAGE_CHANNELS):
        mine = np.flatnonzero(channel == c)
        kind[mine], slot[mine] = _recipients(people, consents, name, person[mine])
    ok = slot >= 0
    by_time = np.flatnonzero(ok)[np.argsort(sent_at[ok], kind="stable")]
    renumber = np.full(len(keep), -1)
    renumber[by_time] = np.arange(len(by_time))
    clicked_sessions = session >= 0
    journeys.sessions.message[session[clicked_sessions]] = renumber[message_of[clicked_sessions]]
    for k, name in enumerate(KINDS):
        people.slots[name].mark(slot[by_time][kind[by_time] == k])

    messages = Messages(
        person=person[by_time],
        channel=channel[by_time],
        campaign=campaign[by_time],
        sent_at=sent_at[by_time],
        kind=kind[by_time],
        slot=slot[by_time],
        message_id=hex_strings(rng, len(by_time), 24),
        event_message=np.zeros(0, np.int32),  # the reports are filled in next
        event_type=np.zeros(0, np.int8),
        event_at=np.zeros(0, np.int64),
        event_cost=np.zeros(0, np.int32),
    )
    _reports(rng, messages, people, click[by_time], opt_out[by_time], kind_out[by_time], window)
    return messages


def _candidates(
    person: np.ndarray,
    campaign: np.ndarray,
    sent: np.ndarray,
    *,
    click: np.ndarray | None = None,
    out: np.ndarray | None = None,
    out_type: np.ndarray | None = None,
    unique: np.ndarray | None = None,
    session: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """Candidate messages, keyed: one message per campaign and person, unless `unique` >= 0."""
    n = len(person)
    never = np.full(n, NEVER)
    own = np.full(n, -1) if unique is None else unique
    key = (campaign.astype(np.int64) << 40) + np.where(own >= 0, (1 << 39) + own, person)
    return (
        person,
        campaign,
        sent,
        never if click is None else click,
        never if out is None else out,
        np.zeros(n, np.int64) if out_type is None else out_type,
        key,
        np.full(n, -1) if session is None else session,
    )


def _opt_outs(
    rng: np.random.Generator, consents: ConsentPlan, campaigns: Campaigns
) -> tuple[np.ndarray, ...]:
    """The message through which each message-made opt-out happened."""
    parts = [_candidates(*(np.zeros(0, np.int64),) * 3)]
    for name, plan in consents.channels.items():
        person = np.flatnonzero(plan.out_by_message)
        out = plan.opt_out[person]
        campaign = campaigns.latest_blast(name, out, 60 * DAY_MS)
        blasts = campaigns.of_channel(name, blasts=True)
        sent = np.where(campaign != NONE, campaigns.send_at[campaign], NONE)
        late = (campaign == NONE) | (sent < plan.opt_in[person])
        campaign = np.where(campaign == NONE, blasts[0] if len(blasts) else NONE, campaign)
        fallback = np.maximum(
            out - rng.integers(10 * MINUTE_MS, 2 * HOUR_MS, len(person)), plan.opt_in[person]
        )
        sent = np.where(late, fallback, sent)
        complained = plan.out_source[person] == SOURCES.index("spam_complaint")
        out_type = np.where(complained, COMPLAINED, UNSUBSCRIBED)
        ok = campaign != NONE
        parts.append(
            _candidates(person[ok], campaign[ok], sent[ok], out=out[ok], out_type=out_type[ok])
        )
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(8))


def _clicks(
    rng: np.random.Generator,
    journeys: Journeys,
    campaigns: Campaigns,
    consents: ConsentPlan,
    window: Window,
) -> tuple[np.ndarray, ...]:
    """The message behind every visit a message brought (blasts are sent at their time)."""
    sessions = journeys.sessions
    driven = np.flatnonzero(sessions.campaign >= 0)
    driven = driven[campaigns.channel[sessions.campaign[driven]] < len(MESSAGE_CHANNELS)]
    campaign = sessions.campaign[driven]
    start = sessions.start[driven]
    person = sessions.person[driven]
    blast = campaigns.send_at[campaign] != NONE
    channel = campaigns.channel[campaign]
    in_app = channel == MESSAGE_CHANNELS.index("in_app")
    before = np.where(
        in_app,
        rng.integers(2 * SECOND_MS, 20 * SECOND_MS, len(driven)),
        rng.integers(10 * MINUTE_MS, 20 * HOUR_MS, len(driven)),
    )
    opted = np.zeros(len(driven), dtype=np.int64)
    for c, name in enumerate(MESSAGE_CHANNELS):
        if name in consents.channels:
            mine = channel == c
            opted[mine] = consents.channels[name].opt_in[person[mine]]
    sent = np.where(
        blast,
        campaigns.send_at[campaign],
        np.maximum(np.maximum(start - before, window.start_ms), opted + SECOND_MS),
    )
    sent = np.minimum(sent, start - SECOND_MS)
    return _candidates(
        person, campaign, sent, click=start, unique=np.where(blast, -1, driven), session=driven
    )


def _triggers(
    rng: np.random.Generator,
    people: People,
    consents: ConsentPlan,
    campaigns: Campaigns,
    journeys: Journeys,
    window: Window,
) -> tuple[np.ndarray, ...]:
    """Welcome e-mails after sign-up, reminders for carts abandoned for good."""
    sessions = journeys.sessions
    email = consents.channels["email"]
    new = np.flatnonzero(
        (people.registered_at >= window.start_ms)
        & (email.opt_in < NEVER)
        & (email.opt_in >= people.registered_at)
    )
    welcome_at = email.opt_in[new] + rng.integers(MINUTE_MS, 5 * MINUTE_MS, len(new))
    welcomed = email.eligible(new, welcome_at)
    parts = [
        (
            new[welcomed],
            np.full(int(welcomed.sum()), campaigns.named("em_welcome")),
            welcome_at[welcomed],
        )
    ]
    n_orders = int((journeys.carts.order >= 0).sum())
    left = np.flatnonzero(
        (sessions.kind == ABANDON)
        & (sessions.cart >= n_orders)
        & bernoulli(rng, 0.8, len(sessions))
    )
    for platform, name, channel in (
        (WEB, "em_abandoned_cart", "email"),
        (APP, "push_abandoned_cart", "mobile_push"),
    ):
        mine = left[sessions.platform[left] == platform]
        at = sessions.end[mine] + rng.integers(HOUR_MS, 3 * HOUR_MS, len(mine))
        ok = consents.eligible(channel, sessions.person[mine], at)
        parts.append(
            (sessions.person[mine][ok], np.full(int(ok.sum()), campaigns.named(name)), at[ok])
        )
    person = np.concatenate([p[0] for p in parts])
    campaign = np.concatenate([p[1] for p in parts])
    sent = np.concatenate([p[2] for p in parts])
    keep = sent < window.end_ms
    return _candidates(
        person[keep], campaign[keep], sent[keep], unique=np.arange(int(keep.sum())) + (1 << 32)
    )


def _audiences(
    rng: np.random.Generator, people: People, consents: ConsentPlan, campaigns: Campaigns
) -> tuple[np.ndarray, ...]:
    """Blast recipients: people sampled among those opted in when the blast went out."""
    parts = [_candidates(*(np.zeros(0, np.int64),) * 3)]
    for name, rule in RULES.items():
        blasts = campaigns.of_channel(name, blasts=True)
        if name in consents.channels:
            pool = np.flatnonzero(consents.channels[name].opt_in < NEVER)
        else:
            pool = np.flatnonzero(people.device_count > 0)
        draws = round(rule[0] * people.n)
        if not len(blasts) or not len(pool) or not draws:
            continue
        person = pool[rng.integers(0, len(pool), draws)]
        campaign = blasts[rng.integers(0, len(blasts), draws)]
        sent = campaigns.send_at[campaign] + rng.integers(0, 20 * MINUTE_MS, draws)
        ok = _eligible(people, consents, name, person, sent)
        parts.append(_candidates(person[ok], campaign[ok], sent[ok]))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(8))


def _reports(
    rng: np.random.Generator,
    messages: Messages,
    people: People,
    click: np.ndarray,
    opt_out: np.ndarray,
    out_type: np.ndarray,
    window: Window,
) -> None:
    """Fill the delivery reports of the messages (worked out a million messages at a time)."""
    m = len(messages.person)
    parts = [
        _chunk_reports(
            rng, messages, people, click, opt_out, out_type, lo, min(lo + REPORT_CHUNK, m)
        )
        for lo in range(0, m, REPORT_CHUNK)
    ] or [_chunk_reports(rng, messages, people, click, opt_out, out_type, 0, 0)]
    message = np.concatenate([p[0] for p in parts])
    kind = np.concatenate([p[1] for p in parts])
    at = np.concatenate([p[2] for p in parts])
    price = np.concatenate([p[3] for p in parts])
    del parts
    styles = np.array([RULES[c][6] for c in MESSAGE_CHANNELS], dtype=np.int8)
    at = fit_to_style(at, styles[messages.channel[message]])
    keep = np.flatnonzero(at < window.end_ms)
    order = keep[np.lexsort((kind[keep], message[keep], at[keep]))]
    messages.event_message, messages.event_type = message[order], kind[order]
    messages.event_at, messages.event_cost = at[order], price[order]


def _chunk_reports(
    rng: np.random.Generator,
    messages: Messages,
    people: People,
    click: np.ndarray,
    opt_out: np.ndarray,
    out_type: np.ndarray,
    lo: int,
    hi: int,
) -> tuple[np.ndarray, ...]:
    """Reports of messages lo..hi: (message, event type, instant, cost or -1)."""
    m = hi - lo
    sent_at, click, opt_out = messages.sent_at[lo:hi], click[lo:hi], opt_out[lo:hi]
    channel = messages.channel[lo:hi]
    rule = [RULES[c] for c in MESSAGE_CHANNELS]
    open_rate = np.array([r[2] for r in rule])[channel]
    bills_delivery = np.array([r[5] for r in rule])[channel]
    cost = np.array([r[4] for r in rule])[channel]
    sms = channel == MESSAGE_CHANNELS.index("sms")
    cost = np.where(sms & (people.country[messages.person[lo:hi]] != UA), ABROAD_SMS_COST, cost)
    has_opens = open_rate > 0
    push = np.isin(
        channel, [MESSAGE_CHANNELS.index("mobile_push"), MESSAGE_CHANNELS.index("web_push")]
    )
    engaged = (click < NEVER) | (opt_out < NEVER)
    delivered = engaged | bernoulli(rng, np.array([r[1] for r in rule])[channel], m)
    delivered_at = sent_at + np.where(
        channel == 0,
        rng.integers(SECOND_MS, 90 * SECOND_MS, m),
        rng.integers(200, 8 * SECOND_MS, m),
    )
    delivered_at = np.minimum(delivered_at, np.minimum(click, opt_out) - 2 * SECOND_MS)
    delivered_at = np.maximum(delivered_at, sent_at)
    click_rate = np.array([r[3] for r in rule])[channel] * np.where(has_opens, open_rate, 1.0)
    spontaneous = delivered & ~engaged & bernoulli(rng, click_rate, m)
    click_at = np.where(
        spontaneous, delivered_at + rng.lognormal(13.5, 1.5, m).astype(np.int64), click
    )
    reads = (
        delivered
        & has_opens
        & (bernoulli(rng, open_rate, m) | (click_at < NEVER) | (opt_out < NEVER))
    )
    first_touch = np.minimum(click_at, opt_out)
    open_at = np.where(
        first_touch < NEVER,
        first_touch - rng.integers(SECOND_MS, 40 * SECOND_MS, m),
        delivered_at + rng.lognormal(14.0, 1.6, m).astype(np.int64),
    )
    open_at = np.where(push & (click < NEVER), click, np.maximum(open_at, delivered_at))
    outcome_at = np.where(
        delivered, delivered_at, sent_at + rng.integers(SECOND_MS, 60 * SECOND_MS, m)
    )
    lost = np.where(channel == 0, BOUNCED, FAILED)
    columns = [
        (np.ones(m, bool), SENT, sent_at, np.where(bills_delivery, -1, cost)),
        (
            np.ones(m, bool),
            np.where(delivered, DELIVERED, lost),
            outcome_at,
            np.where(bills_delivery & delivered, cost, -1),
        ),
        (reads, OPENED, open_at, -1),
        ((click_at < NEVER) & ~push, CLICKED, click_at, -1),
        (opt_out < NEVER, out_type[lo:hi], opt_out, -1),
    ]
    parts = []
    for present, kind, at, price in columns:
        idx = np.flatnonzero(present)
        parts.append(
            (
                (lo + idx).astype(np.int32),
                np.broadcast_to(kind, m)[idx].astype(np.int8),
                at[idx],
                np.broadcast_to(price, m)[idx].astype(np.int32),
            )
        )
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(4))


def message_event_frame(
    messages: Messages, people: People, campaigns: Campaigns, window: Window, seed: int
) -> Frame:
    rng = stream(seed, "message-event-rows")
    message = messages.event_message
    n = len(message)
    channel = messages.channel[message]
    day = window.day_of(messages.event_at)
    # Now and then a provider re-sends a day of reports late.
    backlog = np.unique(channel * 10_000 + day)
    late_days = np.where(bernoulli(rng, 0.008, len(backlog)), rng.integers(1, 3, len(backlog)), 0)
    delay = late_days[np.searchsorted(backlog, channel * 10_000 + day)]
    kind = messages.kind[message]
    email_style = np.where(bernoulli(rng, 0.85, n), Email.LOWER, Email.TYPED)
    phone_style = np.where(channel == MESSAGE_CHANNELS.index("whatsapp"), Phone.E164, Phone.DIGITS)
    rows = pa.table(
        {
            "_ts": messages.event_at,
            "_delay": delay.astype(np.int8),
            "event_id": concat("ME", digits(np.arange(1, n + 1), 10)),
            "ts_style": np.array([RULES[c][6] for c in MESSAGE_CHANNELS], np.int8)[channel],
            "channel": channel.astype(np.int8),
            "message": message,
            "kind": kind,
            "id_style": np.where(kind == 0, email_style, phone_style).astype(np.int8),
            "event_type": messages.event_type,
            "cost": messages.event_cost,
        }
    )
    campaign_ids = pa.array(campaigns.campaign_id)

    def prepare(batch: pa.Table) -> pa.Table:
        msg = batch.column("message").to_numpy()
        kinds = messages.kind[msg]
        slots = messages.slot[msg]
        values = pa.nulls(len(msg), pa.string())
        for k, name in enumerate(KINDS):
            values = pc.coalesce(
                values, take(people.slots[name].value, np.where(kinds == k, slots, -1))
            )
        return (
            batch.append_column("message_id", messages.message_id.take(pa.array(msg)))
            .append_column("campaign_id", campaign_ids.take(pa.array(messages.campaign[msg])))
            .append_column("recipient", values)
            .append_column("typed", take(people.email_display, np.where(kinds == 0, slots, -1)))
        )

    select = f"""event_id, ts_text(_ts, ts_style) as occurred_at,
        {sql_list(MESSAGE_CHANNELS)}[channel + 1] as channel, campaign_id, message_id,
        case kind when 0 then email_text(recipient, typed, id_style)
                  when 1 then phone_text(recipient, id_style) else recipient end as recipient,
        {sql_list(MESSAGE_EVENT_TYPES)}[event_type + 1] as event_type,
        case when cost >= 0 then cost(cost) end as cost"""
    return Frame("message_events", rows, select, prepare)
