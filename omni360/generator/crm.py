"""CRM contacts and their versions.

A contact is created at registration (or when a loyalty card is issued at a till) and
exported again every time it changes: a Telegram or Viber id, a card or a birth date is
added, an agent re-types the e-mail (other case, stray spaces), the person switches to a
newer e-mail. Some people also have a second contact, made at a till from a card and a phone
only. Contacts created before the window arrive in the first file as they were then.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from omni360.generator.arrays import explode
from omni360.generator.clock import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Style,
    Window,
    fit_to_style,
    sample_instants,
)
from omni360.generator.formats import Email, Phone
from omni360.generator.frames import Frame, identifier_lookup
from omni360.generator.people import People
from omni360.generator.randomness import bernoulli, stream, weighted

NEVER = np.iinfo(np.int64).max
CRM_EMAIL_STYLES = {
    Email.TYPED: 40,
    Email.LOWER: 40,
    Email.LEADING_SPACE: 10,
    Email.TRAILING_SPACE: 10,
}
CRM_PHONE_STYLES = {Phone.SPACED: 4, Phone.PUNCTUATED: 3, Phone.E164: 3}


def crm_frame(people: People, window: Window, seed: int) -> Frame:
    rng = stream(seed, "crm")
    everyone = np.arange(people.n)
    primary = everyone[people.crm >= 0]
    second = everyone[people.crm2 >= 0]
    c1, c2 = len(primary), len(second)
    registered = people.registered_at[primary] < NEVER
    issued = np.where(
        bernoulli(rng, 0.85, c1),
        window.start_ms - rng.integers(DAY_MS, 1500 * DAY_MS, c1),
        sample_instants(rng, window, c1),
    )
    created = np.minimum(
        np.where(registered, people.registered_at[primary], issued), window.end_ms - 2 * MINUTE_MS
    )
    created2 = np.where(
        bernoulli(rng, 0.8, c2),
        window.start_ms - rng.integers(DAY_MS, 900 * DAY_MS, c2),
        np.minimum(sample_instants(rng, window, c2), window.end_ms - 2 * MINUTE_MS),
    )

    # Updates inside the window: a few at random, and one when the person switched e-mail.
    n_updates = np.minimum(rng.poisson(0.4, c1), 3)
    switch = people.email2_since[primary]
    switched = (switch < window.end_ms - 4 * DAY_MS) & (switch > created)
    contact, _ = explode(n_updates)
    low = np.maximum(created, window.start_ms)[contact] + HOUR_MS
    update_at = low + (rng.random(len(contact)) * np.maximum(window.end_ms - low, 1)).astype(
        np.int64
    )
    extra = np.flatnonzero(switched)
    contact = np.concatenate([contact, extra])
    update_at = np.concatenate(
        [update_at, switch[extra] + rng.integers(HOUR_MS, 3 * DAY_MS, len(extra))]
    )
    update_at = np.minimum(update_at, window.end_ms - MINUTE_MS)

    version_contact = np.concatenate([np.arange(c1), contact])
    version_at = np.concatenate([created + rng.integers(0, 10 * MINUTE_MS, c1), update_at])
    version_at = np.minimum(version_at, window.end_ms - MINUTE_MS)
    order = np.lexsort((version_at, version_contact))
    version_contact, version_at = version_contact[order], version_at[order]
    # Two versions of a contact never share an instant (they are distinct records).
    clash = np.zeros(len(version_contact), dtype=bool)
    clash[1:] = (version_contact[1:] == version_contact[:-1]) & (
        version_at[1:] <= version_at[:-1] + 1000
    )
    version_contact, version_at = version_contact[~clash], version_at[~clash]
    person = primary[version_contact]
    updates_of = _update_times(version_contact, version_at, c1)
    telegram_from = _field_from(rng, people.telegram[primary] >= 0, created, updates_of)
    viber_from = _field_from(rng, people.viber[primary] >= 0, created, updates_of)
    card_from = np.where(
        registered, _field_from(rng, people.card[primary] >= 0, created, updates_of), created
    )
    card_from = np.where(people.card[primary] >= 0, card_from, NEVER)
    birth_from = _field_from(rng, bernoulli(rng, 0.75, c1), created, updates_of)

    def known(since: np.ndarray) -> np.ndarray:
        return since[version_contact] <= version_at

    style = np.where(bernoulli(rng, 0.7, c1), Style.NAIVE_UTC, Style.UTC_MICROS)
    keys = list(CRM_EMAIL_STYLES)
    email_style = np.array(keys)[
        weighted(rng, list(CRM_EMAIL_STYLES.values()), len(version_contact))
    ]
    phones = list(CRM_PHONE_STYLES)
    phone_style = np.array(phones)[weighted(rng, list(CRM_PHONE_STYLES.values()), c1)]
    v = {
        "contact": people.crm[person],
        "created_at": created[version_contact],
        "updated_at": version_at,
        "ts_style": style[version_contact],
        "user_slot": np.where(registered[version_contact], people.user[person], -1),
        "email_slot": people.email_at(person, version_at),
        "email_style": email_style,
        "phone_slot": people.phone[person],
        "phone_style": phone_style[version_contact],
        "card_slot": np.where(known(card_from), people.card[person], -1),
        "telegram_slot": np.where(known(telegram_from), people.telegram[person], -1),
        "viber_slot": np.where(known(viber_from), people.viber[person], -1),
        "person": person,
        "birth": known(birth_from),
    }
    # The till-made second contacts: card, phone as typed by the cashier, names, city.
    t = {
        "contact": people.crm2[second],
        "created_at": created2,
        "updated_at": np.minimum(
            created2 + rng.integers(0, MINUTE_MS, c2), window.end_ms - MINUTE_MS
        ),
        "ts_style": np.full(c2, Style.LOCAL),
        "user_slot": np.full(c2, -1),
        "email_slot": np.full(c2, -1),
        "email_style": np.zeros(c2, np.int64),
        "phone_slot": people.phone[second],
        "phone_style": np.full(c2, Phone.NATIONAL),
        "card_slot": people.card[second],
        "telegram_slot": np.full(c2, -1),
        "viber_slot": np.full(c2, -1),
        "person": second,
        "birth": np.zeros(c2, bool),
    }
    columns = {name: np.concatenate([v[name], t[name]]) for name in v}
    columns["created_at"] = fit_to_style(columns["created_at"], columns["ts_style"])
    columns["updated_at"] = fit_to_style(columns["updated_at"], columns["ts_style"])
    by_time = np.argsort(columns["updated_at"], kind="stable")
    columns = {name: values[by_time] for name, values in columns.items()}
    columns["_ts"] = columns["updated_at"]
    for kind, slot_name in (
        ("crm_contact_id", "contact"),
        ("user_id", "user_slot"),
        ("email", "email_slot"),
        ("phone", "phone_slot"),
        ("loyalty_card_id", "card_slot"),
        ("telegram_id", "telegram_slot"),
        ("viber_id", "viber_slot"),
    ):
        people.slots[kind].mark(columns[slot_name])
    p = columns["person"]
    rows = pa.table(columns).append_column("first_name", people.first_name.take(pa.array(p)))
    rows = rows.append_column("last_name", people.last_name.take(pa.array(p)))
    rows = rows.append_column("birth_date", pa.array(people.birth_date[p], mask=~columns["birth"]))
    rows = rows.append_column("city", people.city.take(pa.array(p)))
    select = """contact_id, ts_text(created_at, ts_style) as created_at,
        ts_text(updated_at, ts_style) as updated_at, user_id,
        email_text(email, typed, email_style) as email, phone_text(phone, phone_style) as phone,
        loyalty_card_id, telegram_id, viber_id, first_name, last_name,
        strftime(birth_date, '%Y-%m-%d') as birth_date, city"""
    prepare = identifier_lookup(
        people,
        {
            "contact_id": ("crm_contact_id", "contact"),
            "user_id": ("user_id", "user_slot"),
            "email": ("email", "email_slot"),
            "typed": ("typed_email", "email_slot"),
            "phone": ("phone", "phone_slot"),
            "loyalty_card_id": ("loyalty_card_id", "card_slot"),
            "telegram_id": ("telegram_id", "telegram_slot"),
            "viber_id": ("viber_id", "viber_slot"),
        },
    )
    return Frame("crm_contacts", rows, select, prepare)


def _update_times(contact: np.ndarray, at: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    """Per contact, the instants of its versions after the first (CSR: first, count, times)."""
    count = np.bincount(contact, minlength=n) - 1
    first = np.cumsum(count + 1) - (count + 1) + 1
    return first, count, at


def _field_from(
    rng: np.random.Generator, has: np.ndarray, created: np.ndarray, updates: tuple[np.ndarray, ...]
) -> np.ndarray:
    """When a field became known: at creation, at one of the contact's updates, or never."""
    first, count, at = updates
    with_updates = count > 0
    at_start = bernoulli(rng, 0.5, len(has)) | ~with_updates
    pick = first + (rng.random(len(has)) * np.maximum(count, 1)).astype(np.int64)
    later = at[np.minimum(pick, len(at) - 1)] if len(at) else created
    when = np.where(at_start, created, later)
    return np.where(has, when, NEVER)
