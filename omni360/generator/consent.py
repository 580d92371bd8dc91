"""Marketing consent: who opted in on which channel with which identifier, and who opted out.

The plan is decided first and everything else obeys it: messages go only to identifiers
opted in at the time of sending, and an opt-out made through a message (an unsubscribe link,
a STOP reply, a blocked bot, a spam complaint) is also reported by the messaging platform
as an `unsubscribed` / `complained` message event at the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omni360.generator.arrays import lookup
from omni360.generator.clock import (
    DAY_MS,
    HOUR_MS,
    SECOND_MS,
    Style,
    Window,
    fit_to_style,
    sample_instants,
)
from omni360.generator.formats import Email, Phone, sql_list
from omni360.generator.frames import Frame
from omni360.generator.people import People, first_occurrence
from omni360.generator.randomness import bernoulli, stream, weighted
from omni360.generator.textops import take

NEVER = np.iinfo(np.int64).max
CONSENT_CHANNELS = ("email", "sms", "viber", "telegram", "whatsapp", "web_push", "mobile_push")
# Identifier types a consent can be recorded for (the contract's enum, in this order).
KINDS = ("email", "phone", "push_token", "telegram_id", "viber_id", "device_id")
SOURCES = (
    "web_signup",
    "checkout",
    "store_pos",
    "call_center",
    "app_signup",
    "viber_bot",
    "telegram_bot",
    "browser_prompt",
    "app_prompt",
    "unsubscribe_link",
    "spam_complaint",
    "preference_center",
    "stop_reply",
    "bot_blocked",
    "browser_settings",
    "os_settings",
)
SOURCE_STYLE = {
    "store_pos": Style.LOCAL,
    "call_center": Style.NAIVE_UTC,
    "viber_bot": Style.Z,
    "telegram_bot": Style.Z,
    "bot_blocked": Style.Z,
    "unsubscribe_link": Style.UTC_MICROS,
    "spam_complaint": Style.UTC_MICROS,
    "stop_reply": Style.NAIVE_UTC,
}
# Per channel: opt-in rate among people with the identifier, opt-in sources (weights),
# opt-out rate, opt-out sources (weights); a source ending in "*" comes with a message event.
RULES = {
    "email": (
        0.65,
        {"web_signup": 5, "checkout": 3, "store_pos": 1, "app_signup": 2},
        0.08,
        {"unsubscribe_link*": 14, "spam_complaint*": 1, "preference_center": 5},
    ),
    "sms": (
        0.45,
        {"store_pos": 4, "checkout": 3, "call_center": 1},
        0.06,
        {"stop_reply*": 4, "call_center": 1},
    ),
    "viber": (0.55, {"viber_bot": 3, "store_pos": 2}, 0.05, {"unsubscribe_link*": 1}),
    "telegram": (0.7, {"telegram_bot": 1}, 0.08, {"bot_blocked*": 1}),
    "whatsapp": (0.12, {"checkout": 1}, 0.05, {"stop_reply*": 1}),
    "web_push": (1.0, {"browser_prompt": 1}, 0.1, {"browser_settings": 1}),
    "mobile_push": (0.85, {"app_prompt": 1}, 0.1, {"os_settings": 1}),
}


@dataclass
class ChannelConsent:
    """Per person: the identifier consented on one channel and when it was valid."""

    channel: str
    kind: np.ndarray  # index into KINDS, -1 without an identifier for the channel
    slot: np.ndarray  # slot of that identifier
    opt_in: np.ndarray  # ms, NEVER when the person never opted in
    opt_out: np.ndarray  # ms, NEVER when the person never opted out
    in_source: np.ndarray  # index into SOURCES
    out_source: np.ndarray
    out_by_message: np.ndarray  # bool: the opt-out is also a message event

    def eligible(self, person: np.ndarray, at: np.ndarray) -> np.ndarray:
        return (self.opt_in[person] <= at) & (at < self.opt_out[person])


@dataclass
class ConsentPlan:
    channels: dict[str, ChannelConsent]

    def eligible(self, channel: str, person: np.ndarray, at: np.ndarray) -> np.ndarray:
        if channel not in self.channels:
            return np.ones(len(person), dtype=bool)
        return self.channels[channel].eligible(person, at)


def _first_of_run(first: np.ndarray, count: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Per person, the first index in first..first+count with ok[index], else -1."""
    out = np.full(len(first), -1, dtype=np.int64)
    for j in range(int(count.max()) if len(ok) and len(count) else 0):
        idx = np.where(count > j, first + j, 0)
        hit = (out < 0) & (count > j) & ok[idx]
        out[hit] = idx[hit]
    return out


def _identifiers(people: People, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, ...]]:
    """Per channel: (kind, slot) of the identifier each person would consent with."""
    n = people.n
    email_owner = first_occurrence(people.slots["email"].value)
    phone_owner = first_occurrence(people.slots["phone"].value)
    email = np.where(lookup(email_owner, people.email, 0) > 0, people.email, -1)
    phone = np.where(lookup(phone_owner, people.phone, 0) > 0, people.phone, -1)
    own_device = _first_of_run(people.device_first, people.device_count, people.devices.token >= 0)
    push_token = lookup(people.devices.token, own_device)
    cookie = _first_of_run(people.cookie_first, people.cookie_count, people.cookie_token >= 0)
    web_token = np.full(n, -1, dtype=np.int64)
    web_token[cookie >= 0] = people.cookie_token[cookie[cookie >= 0]]
    viber_by_id = bernoulli(rng, 0.4, n)
    by_device = bernoulli(rng, 0.3, n)

    def kind(name: str, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.where(slot >= 0, KINDS.index(name), -1), slot

    viber_kind = np.where(viber_by_id, KINDS.index("viber_id"), KINDS.index("phone"))
    viber_slot = np.where(people.viber >= 0, np.where(viber_by_id, people.viber, phone), -1)
    push_kind = np.where(by_device, KINDS.index("device_id"), KINDS.index("push_token"))
    return {
        "email": kind("email", email),
        "sms": kind("phone", phone),
        "viber": (np.where(viber_slot >= 0, viber_kind, -1), viber_slot),
        "telegram": kind("telegram_id", people.telegram),
        "whatsapp": kind("phone", phone),
        "web_push": kind("push_token", web_token),
        "mobile_push": (
            np.where(own_device >= 0, push_kind, -1),
            np.where(by_device, own_device, push_token),
        ),
    }


def plan_consents(people: People, window: Window, seed: int) -> ConsentPlan:
    rng = stream(seed, "consents")
    n = people.n
    channels = {}
    signed_up_in_window = people.registered_at >= window.start_ms
    for channel, (kind, slot) in _identifiers(people, rng).items():
        in_rate, in_sources, out_rate, out_sources = RULES[channel]
        opted = (slot >= 0) & bernoulli(rng, in_rate, n)
        opt_in = np.full(n, NEVER)
        early = bernoulli(rng, 0.75, n)
        at_signup = opted & signed_up_in_window & (people.registered_at < NEVER)
        before = opted & ~at_signup & early
        during = opted & ~at_signup & ~early
        opt_in[at_signup] = people.registered_at[at_signup] + rng.integers(
            SECOND_MS, 120 * SECOND_MS, int(at_signup.sum())
        )
        opt_in[before] = window.start_ms - rng.integers(DAY_MS, 700 * DAY_MS, int(before.sum()))
        opt_in[during] = sample_instants(rng, window, int(during.sum()))
        in_names = list(in_sources)
        in_source = np.array([SOURCES.index(s) for s in in_names])[
            weighted(rng, list(in_sources.values()), n)
        ]

        leaves = opted & bernoulli(rng, out_rate, n)
        low = np.maximum(opt_in, window.start_ms) + HOUR_MS
        leaves &= low < window.end_ms - HOUR_MS
        opt_out = np.full(n, NEVER)
        span = np.where(leaves, window.end_ms - low, 1)
        opt_out[leaves] = (low + rng.random(n) * span)[leaves].astype(np.int64)
        out_names = list(out_sources)
        pick = weighted(rng, list(out_sources.values()), n)
        out_source = np.array([SOURCES.index(s.rstrip("*")) for s in out_names])[pick]
        by_message = np.array([s.endswith("*") for s in out_names])[pick] & leaves
        opt_in = np.where(opt_in < NEVER, opt_in - opt_in % SECOND_MS, NEVER)
        opt_out = np.where(opt_out < NEVER, opt_out - opt_out % SECOND_MS, NEVER)
        channels[channel] = ChannelConsent(
            channel,
            kind.astype(np.int8),
            slot.astype(np.int32),
            opt_in,
            opt_out,
            in_source.astype(np.int8),
            out_source.astype(np.int8),
            by_message,
        )
    return ConsentPlan(channels)


def consent_frame(plan: ConsentPlan, people: People, window: Window, seed: int) -> Frame:
    """One row per opt-in and per opt-out."""
    rng = stream(seed, "consent-rows")
    parts = []
    for c, consent in enumerate(plan.channels.values()):
        for status, at, source in (
            (0, consent.opt_in, consent.in_source),
            (1, consent.opt_out, consent.out_source),
        ):
            person = np.flatnonzero(at < NEVER)
            parts.append(
                (
                    person,
                    np.full(len(person), c),
                    np.full(len(person), status),
                    at[person],
                    source[person],
                    consent.kind[person],
                    consent.slot[person],
                )
            )
    person, channel, status, at, source, kind, slot = (
        np.concatenate([p[i] for p in parts]) for i in range(7)
    )
    at = np.minimum(at, window.end_ms - 1)
    style = np.full(len(at), Style.Z_MS)
    for name, source_style in SOURCE_STYLE.items():
        style[source == SOURCES.index(name)] = source_style
    at = fit_to_style(at, style)
    order = np.lexsort((person, channel, at))
    id_style = np.where(
        kind == KINDS.index("email"),
        np.where(bernoulli(rng, 0.8, len(at)), Email.LOWER, Email.TYPED),
        np.where(bernoulli(rng, 0.6, len(at)), Phone.E164, Phone.DIGITS),
    )
    for k, name in enumerate(KINDS):
        people.slots[name].mark(slot[kind == k])
    rows = pa.table(
        {
            "_ts": at[order],
            "ts_style": style[order],
            "kind": kind[order],
            "slot": slot[order],
            "id_style": id_style[order],
            "channel": channel[order],
            "status": status[order],
            "source": source[order],
        }
    )

    def prepare(batch: pa.Table) -> pa.Table:
        kinds = batch.column("kind").to_numpy()
        slots = batch.column("slot").to_numpy()
        values = pa.nulls(len(batch), pa.string())
        for k, name in enumerate(KINDS):
            mine = take(people.slots[name].value, np.where(kinds == k, slots, -1))
            values = pc.coalesce(values, mine)
        typed = take(people.email_display, np.where(kinds == 0, slots, -1))
        return batch.append_column("identifier", values).append_column("typed", typed)

    kinds_sql = sql_list(KINDS)
    select = f"""ts_text(_ts, ts_style) as occurred_at,
        {kinds_sql}[kind + 1] as identifier_type,
        case kind when 0 then email_text(identifier, typed, id_style)
                  when 1 then phone_text(identifier, id_style) else identifier end as identifier,
        {sql_list(CONSENT_CHANNELS)}[channel + 1] as channel,
        ['opt_in', 'opt_out'][status + 1] as status,
        {sql_list(SOURCES)}[source + 1] as source"""
    return Frame("consents", rows, select, prepare)
