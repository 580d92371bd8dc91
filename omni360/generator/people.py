"""The people behind the data and every identifier each of them leaves in some system.

An identifier lives in a `Slots` table of its type; every slot has exactly one owner. A value
that several people share (a family e-mail, a shared phone, the family tablet, a store kiosk,
the shop's own e-mail typed at the till) has one slot per owner, all with the same value.
Slots remember whether the data used them, so the ground truth lists only identifiers that
really occur.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omni360.generator import vocab
from omni360.generator.arrays import repeats
from omni360.generator.clock import DAY_MS, Window, sample_instants
from omni360.generator.randomness import bernoulli, stream, weighted
from omni360.generator.textops import (
    choose,
    concat,
    digits,
    hex_strings,
    token_strings,
    unique_ints,
    uuids,
)

IDENTIFIER_TYPES = (
    "user_id",
    "anonymous_id",
    "device_id",
    "push_token",
    "email",
    "phone",
    "loyalty_card_id",
    "telegram_id",
    "viber_id",
    "crm_contact_id",
)
IOS, ANDROID = 0, 1
UA = vocab.COUNTRIES.index("UA")


@dataclass
class Slots:
    """Identifier values of one type, one owner per slot, in their normalized form."""

    kind: str
    person: np.ndarray
    value: pa.Array
    used: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.used = np.zeros(len(self.person), dtype=bool)

    def mark(self, slots: np.ndarray) -> None:
        """Record that these slots (negative: none) appear in the data."""
        slots = np.asarray(slots)
        self.used[slots[slots >= 0]] = True


@dataclass
class Devices:
    """App installations, aligned with the device_id slots."""

    platform: np.ndarray  # IOS or ANDROID
    token: np.ndarray  # push_token slot, -1 without push permission
    install: np.ndarray  # anonymous_id slot of the app installation


@dataclass
class People:
    n: int
    first_name: pa.Array
    last_name: pa.Array
    birth_date: np.ndarray  # datetime64[D]
    city: pa.Array
    country: np.ndarray  # UA, PL or DE
    activity: np.ndarray  # relative appetite for everything (mean 1)
    registered_at: np.ndarray  # ms; int64 max when never registered
    web: np.ndarray
    app: np.ndarray
    store: np.ndarray
    call_center: np.ndarray
    marketplace: np.ndarray
    home_store: np.ndarray  # store index, -1 for people who do not shop in stores
    # Slot of each person's identifier of a type, -1 when the person has none.
    user: np.ndarray
    email: np.ndarray
    email2: np.ndarray  # a newer e-mail some people switch to…
    email2_since: np.ndarray  # …at this instant (ms)
    phone: np.ndarray
    card: np.ndarray
    telegram: np.ndarray
    viber: np.ndarray
    crm: np.ndarray
    crm2: np.ndarray  # a second CRM contact created at a till for the same person
    till_email: np.ndarray  # the shop's e-mail typed at the till for this person
    cookie_first: np.ndarray  # web cookies are anonymous_id slots cookie_first..+cookie_count
    cookie_count: np.ndarray
    cookie_token: np.ndarray  # web push token slot per cookie slot (-1 none)
    device_first: np.ndarray  # own app devices: device_id slots device_first..+device_count
    device_count: np.ndarray
    tablet: np.ndarray  # device_id slot of the family tablet, -1 if none
    kiosk: np.ndarray  # device_id slot of the kiosk the person used, -1 if none
    email_display: pa.Array  # per e-mail slot: how its owner types it ("Olena.K@Gmail.com")
    devices: Devices
    slots: dict[str, Slots]

    def email_at(self, person: np.ndarray, at: np.ndarray) -> np.ndarray:
        """The e-mail slot each person used at that instant (-1 without e-mail)."""
        switched = (self.email2[person] >= 0) & (at >= self.email2_since[person])
        return np.where(switched, self.email2[person], self.email[person])

    def person_ids(self) -> pa.Array:
        return concat("P", digits(np.arange(1, self.n + 1), max(7, len(str(self.n)))))


class _SlotBuilder:
    """Collects (owner, value) chunks per identifier type."""

    def __init__(self) -> None:
        self.chunks: dict[str, list[tuple[np.ndarray, pa.Array]]] = {
            k: [] for k in IDENTIFIER_TYPES
        }
        self.size: dict[str, int] = dict.fromkeys(IDENTIFIER_TYPES, 0)

    def add(self, kind: str, person: np.ndarray, value: pa.Array) -> np.ndarray:
        """Append slots; return their indices."""
        first = self.size[kind]
        self.chunks[kind].append((np.asarray(person, dtype=np.int64), value))
        self.size[kind] += len(person)
        return np.arange(first, first + len(person))

    def build(self) -> dict[str, Slots]:
        out = {}
        for kind, chunks in self.chunks.items():
            person = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
            values = (
                pa.concat_arrays([c[1].cast(pa.string()) for c in chunks])
                if chunks
                else (pa.array([], pa.string()))
            )
            out[kind] = Slots(kind, person, values)
        return out


def first_occurrence(values: pa.Array) -> np.ndarray:
    """True for the first element holding each distinct value."""
    codes = np.asarray(values.dictionary_encode().indices.to_numpy(zero_copy_only=False))
    if not len(codes):
        return np.zeros(0, dtype=bool)
    top = np.maximum.accumulate(codes)
    return np.concatenate([[True], top[1:] > top[:-1]])


def _per_person(n: int, owners: np.ndarray, slots: np.ndarray) -> np.ndarray:
    pointer = np.full(n, -1, dtype=np.int64)
    pointer[owners] = slots
    return pointer


def _pairs(rng: np.random.Generator, candidates: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """`k` pairs of distinct people from the candidates (fewer if there are too few)."""
    k = min(k, len(candidates) // 2)
    chosen = rng.choice(candidates, size=2 * k, replace=False) if k else candidates[:0]
    return chosen[:k], chosen[k:]


def _take(values: pa.Array, rows: np.ndarray) -> pa.Array:
    return values.take(pa.array(rows, pa.int64()))


def _local_parts(
    rng: np.random.Generator, first: pa.Array, last: pa.Array, birth_year: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """E-mail local parts made of the person's names: lower-case and as typed (capitalised)."""
    n = len(first)
    yy, yyyy = digits(birth_year % 100, 2), digits(birth_year, 4)
    nnn = digits(rng.integers(1, 999, n), 1)
    pattern = pa.array(weighted(rng, [30, 12, 12, 6, 8, 14, 10, 8], n))

    def build(f: pa.Array, s: pa.Array) -> pa.Array:
        i = pc.utf8_slice_codeunits(f, 0, 1)
        options = [
            concat(f, ".", s),
            concat(f, s),
            concat(i, ".", s),
            concat(f, "_", s),
            concat(s, ".", f),
            concat(f, ".", s, yy),
            concat(f, nnn),
            concat(s, yyyy),
        ]
        return pc.choose(pattern, *options)

    return build(pc.utf8_lower(first), pc.utf8_lower(last)), build(first, last)


def _domains(rng: np.random.Generator, country: np.ndarray) -> pa.Array:
    index = np.zeros(len(country), dtype=np.int64)
    names: list[str] = []
    for code, country_name in enumerate(vocab.COUNTRIES):
        options = vocab.EMAIL_DOMAINS[country_name]
        mine = country == code
        index[mine] = len(names) + weighted(rng, [w for _, w in options], int(mine.sum()))
        names.extend(d for d, _ in options)
    return choose(names, index)


def _unique_emails(
    rng: np.random.Generator, local: pa.Array, shown: pa.Array, domain: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Normalized e-mails and their typed form; a number is appended until all are distinct."""
    domain_shown = concat(
        pc.utf8_upper(pc.utf8_slice_codeunits(domain, 0, 1)), pc.utf8_slice_codeunits(domain, 1)
    )
    while True:
        email = concat(local, "@", domain)
        repeated = ~first_occurrence(email)
        if not repeated.any():
            return email, concat(shown, "@", domain_shown)
        suffix = pc.if_else(pa.array(repeated), digits(rng.integers(1, 99, len(email)), 1), "")
        local, shown = concat(local, suffix), concat(shown, suffix)


def _phones(rng: np.random.Generator, country: np.ndarray) -> pa.Array:
    """Distinct mobile numbers in E.164, by the person's country."""
    n = len(country)
    prefixes = (vocab.UA_OPERATORS, vocab.PL_PREFIXES, vocab.DE_PREFIXES)
    operator = weighted(rng, vocab.UA_OPERATOR_WEIGHTS, n)
    foreign = country != UA
    operator[foreign] = rng.integers(0, 10, int(foreign.sum()))
    subscriber = rng.integers(0, 10**7, n)
    while True:
        repeated = repeats((country * 100 + operator) * 10**7 + subscriber)
        if not repeated.any():
            break
        subscriber[repeated] = rng.integers(0, 10**7, int(repeated.sum()))
    parts = [
        concat("+", vocab.CALLING_CODES[c], choose(prefixes[i], operator % len(prefixes[i])))
        for i, c in enumerate(vocab.COUNTRIES)
    ]
    return concat(pc.choose(pa.array(country), *parts), digits(subscriber, 7))


def _loyalty_cards(rng: np.random.Generator, n: int) -> pa.Array:
    """EAN-13 card numbers of the chain's range 2900…, with a valid check digit."""
    body = 290_000_000_000 + unique_ints(rng, n, 0, 10**8)
    d = (body[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    check = (10 - (d[:, 0::2].sum(1) + 3 * d[:, 1::2].sum(1)) % 10) % 10
    return digits(body * 10 + check, 13)


def _fcm_tokens(rng: np.random.Generator, n: int) -> pa.Array:
    return concat(token_strings(rng, n, 22), ":APA91b", token_strings(rng, n, 60))


def generate_people(n: int, window: Window, seed: int) -> People:
    rng = stream(seed, "people")
    everyone = np.arange(n)
    female = bernoulli(rng, 0.58, n)
    first_name = pc.if_else(
        pa.array(female),
        choose(vocab.FEMALE_FIRST, rng.integers(0, len(vocab.FEMALE_FIRST), n)),
        choose(vocab.MALE_FIRST, rng.integers(0, len(vocab.MALE_FIRST), n)),
    )
    surname = rng.integers(0, len(vocab.SURNAMES), n)
    city_idx = weighted(rng, [w for _, _, w in vocab.CITIES], n)
    country = np.array([vocab.COUNTRIES.index(c) for _, c, _ in vocab.CITIES])[city_idx]
    age_days = (rng.gamma(6.0, 6.5, n) + 17).clip(18, 80) * 365.25
    birth_date = np.datetime64(window.end_date) - age_days.astype("timedelta64[D]")
    activity = rng.lognormal(0.0, 0.7, n)
    activity /= activity.mean() if n else 1.0

    local = country == UA
    registered = bernoulli(rng, 0.6, n)
    web = bernoulli(rng, 0.72, n) | ~local
    app = registered & bernoulli(rng, 0.58, n)
    store = local & bernoulli(rng, 0.55, n)
    call_center = local & bernoulli(rng, 0.06, n)
    marketplace = bernoulli(rng, 0.1, n)
    has_email = registered | bernoulli(rng, 0.45, n)
    has_phone = bernoulli(rng, 0.96, n) | app
    has_card = local & bernoulli(rng, np.where(store, 0.7, 0.15), n)
    has_telegram = local & bernoulli(rng, 0.3, n)

    # Who shares what; they get the habits their sharing needs.
    fam_a, fam_b = _pairs(rng, everyone[local], max(1, round(n * 0.002)))
    pho_a, pho_b = _pairs(rng, everyone[local], max(1, round(n * 0.001)))
    tab_a, tab_b = _pairs(rng, everyone[local], max(1, round(n * 0.0015)))
    till_people = np.sort(
        rng.choice(
            everyone[local], size=min(int(local.sum()), max(2, round(n * 0.002))), replace=False
        )
    )
    kiosk_people, kiosk_of = _kiosk_users(rng, n, local & store & has_card, local & has_card)
    has_email[np.concatenate([fam_a, fam_b])] = True
    has_phone[np.concatenate([pho_a, pho_b])] = True
    tablet_people = np.concatenate([tab_a, tab_b])
    registered[tablet_people] = app[tablet_people] = has_email[tablet_people] = True
    store[till_people] = store[kiosk_people] = True
    for a, b in ((fam_a, fam_b), (pho_a, pho_b), (tab_a, tab_b)):
        surname[b] = surname[a]  # households
    web |= ~(web | app | store | call_center | marketplace)
    has_viber = local & has_phone & bernoulli(rng, 0.5, n)
    has_viber[pho_b] = False  # Viber goes with the phone's owner
    last_name = pc.if_else(
        pa.array(female),
        choose([f for _, f in vocab.SURNAMES], surname),
        choose([m for m, _ in vocab.SURNAMES], surname),
    )
    home_store = _home_stores(rng, city_idx, store)
    home_store[kiosk_people] = np.array(vocab.KIOSK_STORES)[kiosk_of]

    registered_at = np.full(n, np.iinfo(np.int64).max)
    before = registered & bernoulli(rng, 0.82, n)
    during = registered & ~before
    registered_at[before] = window.start_ms - rng.integers(
        DAY_MS, 4 * 365 * DAY_MS, int(before.sum())
    )
    registered_at[during] = sample_instants(rng, window, int(during.sum()))

    builder = _SlotBuilder()
    reg_people = everyone[registered]
    user = _per_person(
        n,
        reg_people,
        builder.add(
            "user_id", reg_people, digits(unique_ints(rng, len(reg_people), 10**8, 10**9), 9)
        ),
    )

    # E-mails: personal ones, a newer one for a few, one per family pair; all distinct.
    mail_people = everyone[has_email]
    newer_people = everyone[registered & bernoulli(rng, 0.04, n)]
    birth_year = birth_date.astype("datetime64[Y]").astype(int) + 1970
    local_l, local_shown = _local_parts(
        rng, _take(first_name, mail_people), _take(last_name, mail_people), birth_year[mail_people]
    )
    newer_l = concat(
        _take(pc.utf8_lower(first_name), newer_people),
        ".",
        _take(pc.utf8_lower(last_name), newer_people),
        ".",
        digits(rng.integers(1, 99, len(newer_people)), 2),
    )
    family_name = _take(last_name, fam_a)
    family_l = concat(pc.utf8_lower(family_name), ".family")
    all_mail, all_shown = _unique_emails(
        rng,
        pa.concat_arrays([local_l, newer_l, family_l]),
        pa.concat_arrays([local_shown, newer_l, concat(family_name, ".Family")]),
        pa.concat_arrays(
            [
                _domains(rng, country[mail_people]),
                choose(["gmail.com"], np.zeros(len(newer_people), np.int64)),
                choose(["ukr.net"], np.zeros(len(fam_a), np.int64)),
            ]
        ),
    )
    n_mail, n_newer = len(mail_people), len(newer_people)
    personal, shown = all_mail[:n_mail], all_shown[:n_mail]
    rows = np.searchsorted(mail_people, np.concatenate([fam_a, fam_b]))
    family_rows = np.tile(np.arange(n_mail + n_newer, len(all_mail)), 2)
    personal = _replace(personal, rows, _take(all_mail, family_rows))
    shown = _replace(shown, rows, _take(all_shown, family_rows))
    email = _per_person(n, mail_people, builder.add("email", mail_people, personal))
    email2 = _per_person(
        n, newer_people, builder.add("email", newer_people, all_mail[n_mail : n_mail + n_newer])
    )
    email2_since = np.full(n, np.iinfo(np.int64).max)
    email2_since[newer_people] = sample_instants(rng, window, n_newer)
    till_email = _per_person(
        n,
        till_people,
        builder.add(
            "email", till_people, choose([vocab.SHOP_EMAIL], np.zeros(len(till_people), np.int64))
        ),
    )
    email_display = pa.concat_arrays(
        [
            shown,
            all_shown[n_mail : n_mail + n_newer],
            choose(["Info@Lastivka.ua"], np.zeros(len(till_people), np.int64)),
        ]
    )

    phone_values = _phones(rng, country)
    phone_values = _replace(phone_values, pho_b, _take(phone_values, pho_a))
    phone_people = everyone[has_phone]
    phone = _per_person(
        n, phone_people, builder.add("phone", phone_people, _take(phone_values, phone_people))
    )

    card_people = everyone[has_card]
    card = _per_person(
        n,
        card_people,
        builder.add("loyalty_card_id", card_people, _loyalty_cards(rng, len(card_people))),
    )
    tg_people = everyone[has_telegram]
    telegram = _per_person(
        n,
        tg_people,
        builder.add(
            "telegram_id",
            tg_people,
            pc.cast(pa.array(unique_ints(rng, len(tg_people), 10**8, 8 * 10**9)), pa.string()),
        ),
    )
    vb_people = everyone[has_viber]
    viber = _per_person(
        n,
        vb_people,
        builder.add("viber_id", vb_people, concat(token_strings(rng, len(vb_people), 22), "==")),
    )
    crm_people = everyone[registered | has_card]
    twice = everyone[registered & has_card & bernoulli(rng, 0.05, n)]
    crm_ids = concat("C", digits(unique_ints(rng, len(crm_people) + len(twice), 10**7, 10**8), 8))
    crm = _per_person(
        n, crm_people, builder.add("crm_contact_id", crm_people, crm_ids[: len(crm_people)])
    )
    crm2 = _per_person(n, twice, builder.add("crm_contact_id", twice, crm_ids[len(crm_people) :]))

    # Web cookies (anonymous ids); some browsers accepted web push.
    cookie_count = np.where(web, 1 + np.minimum(rng.poisson(0.7, n), 3), 0)
    cookie_owner = np.repeat(everyone, cookie_count)
    cookies = builder.add("anonymous_id", cookie_owner, uuids(rng, len(cookie_owner)))
    subscribed = bernoulli(rng, 0.12, len(cookies))
    cookie_token = np.full(len(cookies), -1, dtype=np.int64)
    cookie_token[subscribed] = builder.add(
        "push_token", cookie_owner[subscribed], _fcm_tokens(rng, int(subscribed.sum()))
    )

    # App installations: own phones, the family tablets, the store kiosks.
    devices = _DeviceBuilder(builder)
    device_count = np.where(app, 1 + bernoulli(rng, 0.15, n), 0)
    owner = np.repeat(everyone, device_count)
    platform = np.where(bernoulli(rng, 0.42, len(owner)), IOS, ANDROID)
    # Own devices are the first device slots, in person order.
    devices.add(
        owner,
        platform,
        _device_ids(rng, platform),
        _push_tokens(rng, platform, bernoulli(rng, 0.8, len(owner))),
        uuids(rng, len(owner)),
    )
    device_first = np.where(device_count > 0, np.cumsum(device_count) - device_count, -1)

    pair = np.repeat(np.arange(len(tab_a)), 2)
    tab_owner = np.stack([tab_a, tab_b], 1).ravel()
    tab_platform = rng.choice([IOS, ANDROID], len(tab_a))
    tablet = _per_person(
        n,
        tab_owner,
        devices.add(
            tab_owner,
            tab_platform[pair],
            _take(_device_ids(rng, tab_platform), pair),
            _take(_push_tokens(rng, tab_platform, np.ones(len(tab_a), bool)), pair),
            _take(uuids(rng, len(tab_a)), pair),
        ),
    )

    n_kiosks = len(vocab.KIOSK_STORES)
    kiosk = _per_person(
        n,
        kiosk_people,
        devices.add(
            kiosk_people,
            np.full(len(kiosk_people), ANDROID),
            _take(hex_strings(rng, n_kiosks, 16), kiosk_of),
            pa.nulls(len(kiosk_people), pa.string()),
            _take(uuids(rng, n_kiosks), kiosk_of),
        ),
    )

    return People(
        n=n,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        city=choose([c for c, _, _ in vocab.CITIES], city_idx),
        country=country,
        activity=activity,
        registered_at=registered_at,
        web=web,
        app=app,
        store=store,
        call_center=call_center,
        marketplace=marketplace,
        home_store=home_store,
        user=user,
        email=email,
        email2=email2,
        email2_since=email2_since,
        phone=phone,
        card=card,
        telegram=telegram,
        viber=viber,
        crm=crm,
        crm2=crm2,
        till_email=till_email,
        cookie_first=np.cumsum(cookie_count) - cookie_count,
        cookie_count=cookie_count,
        cookie_token=cookie_token,
        device_first=device_first,
        device_count=device_count,
        tablet=tablet,
        kiosk=kiosk,
        email_display=email_display,
        devices=devices.build(),
        slots=builder.build(),
    )


class _DeviceBuilder:
    """Adds app installations: a device id, maybe a push token, an install's anonymous id."""

    def __init__(self, builder: _SlotBuilder) -> None:
        self.builder = builder
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        owner: np.ndarray,
        platform: np.ndarray,
        device: pa.Array,
        token: pa.Array,
        install: pa.Array,
    ) -> np.ndarray:
        slots = self.builder.add("device_id", owner, device)
        token_slot = np.full(len(owner), -1, dtype=np.int64)
        granted = np.asarray(pc.is_valid(token), dtype=bool)
        token_slot[granted] = self.builder.add(
            "push_token", owner[granted], token.filter(pa.array(granted))
        )
        self.parts.append((platform, token_slot, self.builder.add("anonymous_id", owner, install)))
        return slots

    def build(self) -> Devices:
        return Devices(*(np.concatenate([p[i] for p in self.parts]) for i in range(3)))


def _replace(values: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """A copy of `values` with `values[rows] = new`."""
    index = np.arange(len(values))
    index[rows] = len(values) + np.arange(len(rows))
    return pa.concat_arrays([values, new.cast(values.type)]).take(pa.array(index))


def _device_ids(rng: np.random.Generator, platform: np.ndarray) -> pa.Array:
    """iOS vendor ids are upper-case UUIDs, Android ids 16 hex digits."""
    return pc.if_else(
        pa.array(platform == IOS),
        uuids(rng, len(platform), upper=True),
        hex_strings(rng, len(platform), 16),
    )


def _push_tokens(rng: np.random.Generator, platform: np.ndarray, granted: np.ndarray) -> pa.Array:
    """APNs tokens (64 hex digits) or FCM tokens; null where push was not granted."""
    token = pc.if_else(
        pa.array(platform == IOS),
        hex_strings(rng, len(platform), 64),
        _fcm_tokens(rng, len(platform)),
    )
    return pc.if_else(pa.array(granted), token, pa.scalar(None, pa.string()))


def _home_stores(rng: np.random.Generator, city_idx: np.ndarray, store: np.ndarray) -> np.ndarray:
    """A store in the person's city (Kyiv's for towns without one); the newest is nobody's home."""
    cities = [c for c, _, _ in vocab.CITIES]
    open_stores = vocab.STORES[:-1]
    by_city = {c: [i for i, (_, sc) in enumerate(open_stores) if sc == c] for c in cities}
    kyiv = by_city["Kyiv"]
    home = np.full(len(city_idx), -1, dtype=np.int64)
    for ci, city in enumerate(cities):
        mine = np.flatnonzero(store & (city_idx == ci))
        options = by_city[city] or kyiv
        home[mine] = np.array(options)[rng.integers(0, len(options), len(mine))]
    return home


def _kiosk_users(
    rng: np.random.Generator, n: int, preferred: np.ndarray, fallback: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Card holders who log in on a store kiosk, and which kiosk; at least two per used kiosk."""
    candidates = np.flatnonzero(preferred)
    if len(candidates) < 2 * len(vocab.KIOSK_STORES):
        candidates = np.flatnonzero(fallback)
    count = min(len(candidates), max(2, round(n * 0.001)) * len(vocab.KIOSK_STORES))
    kiosks = min(len(vocab.KIOSK_STORES), count // 2)
    users = np.sort(rng.choice(candidates, size=kiosks and count, replace=False))
    return users, np.arange(len(users)) % max(kiosks, 1)
