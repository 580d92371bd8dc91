"""Property test of the consent decision: an opted-out or suppressed address is never sendable.

The decision is dbt's (int_audiences__contact_permissions, read by the sync engine's send-time
gate fct_contact_permissions), so the test runs the models' real compiled SQL. Once per module:
`dbt compile` of everything upstream of the gate (in-memory `lint` target, a throw-away target
path), then an in-memory DuckDB (its catalog is "memory", as in the compiled relation names)
gets the seeds from their CSVs, every upstream model built empty from its compiled SQL (that
gives the chain's inputs their real schemas) and the chain itself as views.

Hypothesis draws small worlds: customers and their identifiers as the identity graph would give
them (shared ones too), consent histories with ties, message events (unsubscribes, complaints,
bounces), push-token sightings and suppression-list rows typed the messy way people type them. A
plain Python oracle written from docs/audiences.md and the seeds decides every (channel, address)
on its own; the gate must never call sendable what the oracle blocks, and must agree with it on
every other decision too.

Planning the chain's SQL costs DuckDB far more than running it, so the examples are answered in
batches: hypothesis runs the property twice with the same derandomized seed, first only
collecting its examples, which are then loaded together (each world under its own namespace:
its own addresses and customer ids) and decided by one query; the second run checks each example
against its batched answer. An example without one (a shrink after a failure) is decided alone.
A second test breaks rules of the SQL on purpose, in memory, and checks that the property fails.
"""

from __future__ import annotations

import csv
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from omni360.ingestion.schema import ensure_raw_schema
from omni360.settings import PROJECT_ROOT
from tests.dbt_runs import DBT

SEEDS = PROJECT_ROOT / "seeds"
GATE = "fct_contact_permissions"
# Run from their compiled SQL on every example, in this order (each reads only earlier ones).
CHAIN = (
    "int_identity__record_customers",
    "int_customers__as_of",
    "int_customers__consents",
    "int_audiences__address_consents",
    "int_audiences__channel_addresses",
    "int_audiences__suppressions",
    "int_audiences__contact_permissions",
    GATE,
)
# What the chain reads besides seeds: the test writes these, with their real (built) schemas.
INPUTS = {
    "stg_consents",
    "stg_message_events",
    "stg_events",
    "dim_customer_identifiers",
    "int_identity__observations",
    "int_customers__touchpoints",
}
MIN_EXAMPLES = 1000
T0 = datetime(2026, 10, 1)
AS_OF = T0 + timedelta(days=4)
# Decisions in the order docs/audiences.md gives them (the first that applies wins).
STATUSES = (
    "shared_address",
    "suppressed",
    "address_opted_out",
    "customer_opted_out",
    "no_opt_in",
    "sendable",
)
SUPPRESSIONS = ("listed_address", "listed_customer", "unsubscribed", "complained", "undeliverable")


# --- the seeds, read as plain CSV for the oracle ---------------------------------------------


def _seed(name: str) -> list[dict[str, str]]:
    with (SEEDS / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


REQUIRES_OPT_IN = {r["channel"]: r["requires_opt_in"] == "true" for r in _seed("channel_catalog")}
ADDRESS_TYPES: dict[str, list[tuple[str, int]]] = {}  # identifier type -> [(channel, rank)]
for _row in _seed("channel_address_types"):
    if _row["channel"] in REQUIRES_OPT_IN:
        ADDRESS_TYPES.setdefault(_row["identifier_type"], []).append(
            (_row["channel"], int(_row["address_rank"]))
        )
IDENTIFIER_TYPES = {r["identifier_type"]: r for r in _seed("identifier_types")}
MESSAGING_TYPES = tuple(
    t for t, r in IDENTIFIER_TYPES.items() if r["is_messaging_address"] == "true"
)
PERSON_TYPES = ("user_id", "crm_contact_id", "loyalty_card_id")
# Channels staging can produce (seed channel_aliases) that the catalog knows.
STAGED_CHANNELS = {r["channel"] for r in _seed("channel_aliases")} & set(REQUIRES_OPT_IN)
CONSENT_CHANNELS = sorted(STAGED_CHANNELS)
# A message reaches a channel's address types (the human agent gets no message events).
MESSAGE_CHANNELS = {
    t: [c for c, _ in ADDRESS_TYPES.get(t, []) if c in STAGED_CHANNELS] for t in MESSAGING_TYPES
}
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
MESSAGE_RUNS = (("bounced", "failed", "delivered"), ("unsubscribed", "opened", "clicked"))


# --- identifiers: each world gets its own, spelled as staging and the identity graph keep them


def address_of(identifier_type: str, index: int, world: int) -> str:
    """The normalized value of identifier `index` (0-2) of a type, in world number `world`."""
    w = f"{world:04d}"
    if identifier_type == "email":
        local, domain = (("ann", "example.com"), ("bob.k", "example.org"), ("c+news", "shop.ex"))[
            index
        ]
        return f"{local}.w{w}@{domain}"
    if identifier_type == "phone":  # two Ukrainian mobiles and a Polish one, E.164
        return ("+38067", "+38093", "+485")[index] + w + f"{index:0{3 if index < 2 else 4}d}"
    prefix = {
        "telegram_id": "7700",
        "viber_id": "vb:Qx",
        "push_token": "fcm:tok",
        "device_id": "DEV-",
        "user_id": "U-",
        "crm_contact_id": "CRM-",
        "loyalty_card_id": "L-",
    }[identifier_type]
    return f"{prefix}{index}{w}"


def spellings(identifier_type: str, value: str) -> tuple[str, ...]:
    """Ways a person types the value in seed suppression_list; all normalize back to it."""
    if identifier_type == "email":
        return (value, value.upper(), f"  {value.capitalize()} ")
    if identifier_type == "phone" and value.startswith("+380"):
        n = value[4:]
        return (
            value,
            f"0{n}",
            f"380{n}",
            f"00380{n}",
            f"+380 ({n[:2]}) {n[2:5]}-{n[5:7]}-{n[7:]}",
            f"0{n[:2]} {n[2:5]} {n[5:7]} {n[7:]}",
        )
    if identifier_type == "phone":
        n = value[3:]
        return (value, f"+48 {n[:3]} {n[3:6]} {n[6:]}", f"0048{n}")
    return (value, f" {value}  ")


# --- a world -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    type: str
    index: int
    owner: int | None  # customer number; None: a shared identifier (belongs to no one)


@dataclass(frozen=True)
class Consent:
    ident: Ident
    channel: str
    opt_in: bool
    at: datetime


@dataclass(frozen=True)
class MessageEvent:
    ident: Ident
    channel: str
    event_type: str
    message: int
    at: datetime


@dataclass(frozen=True)
class ListEntry:
    """A suppression_list row: what it points at and how it is typed."""

    target: Ident | None  # None: an identifier the warehouse does not know
    type_spelling: int
    spelling: int
    channel: str | None  # the channel meant; None: every channel
    channel_spelling: int


@dataclass(frozen=True)
class World:
    idents: tuple[Ident, ...]
    consents: tuple[Consent, ...]
    messages: tuple[MessageEvent, ...]
    sightings: tuple[tuple[Ident, str], ...]  # (push token, 'app' or 'web') from app/web events
    entries: tuple[ListEntry, ...]


def _at(slot: int) -> datetime:
    return T0 + timedelta(hours=12 * slot)


times = st.integers(0, 5)  # few distinct moments: ties are common


@st.composite
def worlds(draw: st.DrawFn) -> World:
    customers = draw(st.integers(1, 3))
    owner = st.sampled_from([*range(customers), *range(customers), None])
    picks = draw(
        st.lists(
            st.tuples(st.sampled_from([*MESSAGING_TYPES, *PERSON_TYPES]), st.integers(0, 2), owner),
            min_size=1,
            max_size=8,
            unique_by=lambda p: (p[0], p[1]),
        )
    )
    idents = tuple(Ident(*p) for p in picks)
    addresses = [i for i in idents if i.type in MESSAGING_TYPES]
    people = [i for i in idents if i.type in PERSON_TYPES]
    tokens = [i for i in addresses if i.type == "push_token"]

    consents: list[Consent] = []
    messages: list[MessageEvent] = []
    sightings: list[tuple[Ident, str]] = []
    if addresses:
        histories: dict[tuple[Ident, str], list[int]] = {}  # (address, channel): consent moments
        for _ in range(draw(st.integers(0, 4))):
            ident = draw(st.sampled_from(addresses))
            # A channel the identifier addresses, or any channel (a preference centre signed in
            # by e-mail opts out of in-app messages), except for a push token, which only ever
            # speaks for its own push channel; often a channel another address was asked about.
            own = [c for c, _ in ADDRESS_TYPES[ident.type] if c in STAGED_CHANNELS]
            anywhere = own if ident.type == "push_token" else CONSENT_CHANNELS
            earlier = [c for _, c in histories if c in anywhere]
            channel = draw(
                st.sampled_from(own)
                | st.sampled_from(anywhere)
                | (st.sampled_from(earlier) if earlier else st.nothing())
            )
            events = draw(st.lists(st.tuples(st.booleans(), times), min_size=1, max_size=3))
            consents.extend(Consent(ident, channel, opt_in, _at(t)) for opt_in, t in events)
            histories.setdefault((ident, channel), []).extend(t for _, t in events)
        for _ in range(draw(st.integers(0, 3))):  # a few addresses and channels messaged
            asked = [(i, c) for i, c in histories if c in MESSAGE_CHANNELS[i.type]]
            moments = times
            if asked and draw(st.booleans()):  # often one with consents, at the same moments
                ident, channel = draw(st.sampled_from(asked))
                moments = st.sampled_from(histories[ident, channel]) | times
            else:
                ident = draw(st.sampled_from(addresses))
                channel = draw(st.sampled_from(MESSAGE_CHANNELS[ident.type]))
            # Any events, or a run of failures (the address may become undeliverable), or an
            # unsubscribe among engagement (lifted or not by the consents around it).
            kinds = draw(st.sampled_from([MESSAGE_EVENT_TYPES, *MESSAGE_RUNS]))
            messages.extend(
                MessageEvent(ident, channel, event_type, message, _at(slot))
                for event_type, message, slot in draw(
                    st.lists(
                        st.tuples(st.sampled_from(kinds), st.integers(0, 3), moments),
                        min_size=1,
                        max_size=5,
                    )
                )
            )
    if tokens:
        sightings = draw(
            st.lists(st.tuples(st.sampled_from(tokens), st.sampled_from(["app", "web"])))
        )
    entries = [
        ListEntry(
            draw(st.none() | st.sampled_from(addresses + people)) if idents else None,
            draw(st.integers(0, 2)),
            draw(st.integers(0, 5)),
            draw(st.none() | st.sampled_from(sorted(REQUIRES_OPT_IN))),
            draw(st.integers(0, 2)),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    return World(idents, tuple(consents), tuple(messages), tuple(sightings), tuple(entries))


# --- the oracle ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    reasons: tuple[str, ...]  # every rule that blocks the address on the channel

    @property
    def suppressed(self) -> bool:
        return any(r in SUPPRESSIONS for r in self.reasons)

    @property
    def status(self) -> str:
        failing = {"suppressed" if r in SUPPRESSIONS else r for r in self.reasons}
        return next(s for s in STATUSES if s in failing or s == "sendable")


def _latest(consents: list[Consent]) -> str | None:
    """opt_in / opt_out of the latest consent (an opt-out wins a tie), None when never asked."""
    if not consents:
        return None
    last = max(c.at for c in consents)
    return "opt_in" if all(c.opt_in for c in consents if c.at == last) else "opt_out"


def _push_channels(world: World, token: Ident) -> set[str]:
    """Where a push token was seen: app/web events, consents and messages of a push channel."""
    seen = {
        "mobile_push" if touch == "app" else "web_push"
        for t, touch in world.sightings
        if t == token
    }
    seen |= {c.channel for c in world.consents if c.ident == token}
    seen |= {m.channel for m in world.messages if m.ident == token and m.channel.endswith("_push")}
    return seen


def _blocks(world: World, ident: Ident, channel: str) -> list[str]:
    reasons = []
    if ident.owner is None:
        reasons.append("shared_address")
    for entry in world.entries:
        if entry.target is None or entry.channel not in (None, channel):
            continue
        if entry.target == ident:
            reasons.append("listed_address")
        elif entry.target.type in PERSON_TYPES and None is not entry.target.owner == ident.owner:
            reasons.append("listed_customer")
    mine = [m for m in world.messages if m.ident == ident]
    if any(m.event_type == "complained" for m in mine):
        reasons.append("complained")
    on_channel = [m for m in mine if m.channel == channel]
    address_consents = [c for c in world.consents if c.ident == ident and c.channel == channel]
    address_consent = _latest(address_consents)
    unsubscribed = [m.at for m in on_channel if m.event_type == "unsubscribed"]
    # Lifted when the address opted in again after its latest unsubscribe (and still is).
    if unsubscribed and not (
        address_consent == "opt_in" and max(c.at for c in address_consents) > max(unsubscribed)
    ):
        reasons.append("unsubscribed")
    successes = [m.at for m in on_channel if m.event_type in ("delivered", "opened", "clicked")]
    failed = {
        m.message
        for m in on_channel
        if m.event_type in ("bounced", "failed") and (not successes or m.at > max(successes))
    }
    if len(failed) >= 3:
        reasons.append("undeliverable")
    if address_consent == "opt_out":
        reasons.append("address_opted_out")
    if ident.owner is not None:
        customer_consents = [
            c for c in world.consents if c.ident.owner == ident.owner and c.channel == channel
        ]
        if _latest(customer_consents) == "opt_out":
            reasons.append("customer_opted_out")
    if REQUIRES_OPT_IN[channel] and address_consent != "opt_in":
        reasons.append("no_opt_in")
    return reasons


def oracle(world: World) -> dict[tuple[str, Ident], Decision]:
    """Every (channel, address) the warehouse knows and what docs/audiences.md says of it."""
    return {
        (channel, ident): Decision(tuple(_blocks(world, ident, channel)))
        for ident in world.idents
        for channel, _ in ADDRESS_TYPES.get(ident.type, [])
        if ident.type != "push_token" or channel in _push_channels(world, ident)
    }


# --- the warehouse: compiled SQL over in-memory inputs -------------------------------------


@dataclass(frozen=True)
class Answer:
    """The gate's row for one (channel, address) of a world."""

    address_type: str
    owner: int | None
    is_sendable: bool
    is_suppressed: bool
    permission_status: str
    decided_at: datetime


def _compile(target: Path) -> dict:
    result = subprocess.run(
        [
            DBT,
            "compile",
            "--profiles-dir",
            ".",
            "--project-dir",
            ".",
            "--target",
            "lint",
            "--target-path",
            str(target / "target"),
            "--log-path",
            str(target / "logs"),
            "--select",
            f"+{GATE}",
            "--indirect-selection",
            "empty",
            "--quiet",
            "--no-send-anonymous-usage-stats",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((target / "target" / "manifest.json").read_text())


class Warehouse:
    """One in-memory DuckDB: seeds, the chain's inputs as tables, the chain as views."""

    def __init__(self, manifest: dict) -> None:
        nodes = manifest["nodes"]
        self.models = {
            n["name"]: n
            for n in nodes.values()
            if n["resource_type"] == "model" and n.get("compiled_code") is not None
        }
        self.sql = {name: self.models[name]["compiled_code"] for name in CHAIN}
        self.relations = {name: node["relation_name"] for name, node in self.models.items()}
        inputs = {
            nodes[d]["name"]
            for name in CHAIN
            for d in self.models[name]["depends_on"]["nodes"]
            if d.startswith("model.") and nodes[d]["name"] not in CHAIN
        }
        assert inputs == INPUTS, f"the chain's inputs changed: {sorted(inputs ^ INPUTS)}"
        self.suppression_list = nodes["seed.omni360.suppression_list"]["relation_name"]

        con = duckdb.connect(":memory:")  # its catalog is "memory", as in the compiled SQL
        con.execute("set TimeZone = 'UTC'")
        ensure_raw_schema(con)
        for node in nodes.values():
            if node["resource_type"] in ("model", "seed"):
                con.execute(f'create schema if not exists "{node["schema"]}"')
        seeds = {d for n in self.models.values() for d in n["depends_on"]["nodes"]}
        for seed in sorted(s for s in seeds if s.startswith("seed.")):
            self._load_seed(con, nodes[seed])
        listed = con.execute(f"select * from {self.suppression_list}")
        names = [column[0] for column in listed.description]
        self.listed_seed_rows = [dict(zip(names, row, strict=True)) for row in listed.fetchall()]
        # Every model upstream of the gate, built once on the empty raw tables: real schemas.
        for name in self._build_order():
            node = self.models[name]
            if node["config"]["materialized"] == "connected_components":
                # macros/materializations/connected_components.sql: (node_id, component_id)
                con.execute(
                    f"create table {node['relation_name']} (node_id bigint, component_id bigint)"
                )
            else:
                con.execute(f"create table {node['relation_name']} as {node['compiled_code']}")
        for name in CHAIN:
            con.execute(f"drop table {self.relations[name]}")
        self.con = con
        self.install(self.sql)

    @staticmethod
    def _load_seed(con: duckdb.DuckDBPyConnection, seed: dict) -> None:
        """Like `dbt seed`: the CSV as text, empty fields null, the project's column types."""
        path = PROJECT_ROOT / seed["original_file_path"]
        types = seed["config"].get("column_types") or {}
        source = f"read_csv('{path}', header = true, all_varchar = true)"
        columns = [c[0] for c in con.execute(f"select * from {source} limit 0").description]
        select = ", ".join(
            f'cast("{c}" as {types[c]}) as "{c}"' if c in types else f'"{c}"' for c in columns
        )
        con.execute(f"create table {seed['relation_name']} as select {select} from {source}")

    def _build_order(self) -> list[str]:
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            for dep in self.models[name]["depends_on"]["nodes"]:
                if dep.startswith("model."):
                    visit(dep.split(".")[-1])
            order.append(name)

        visit(GATE)
        return order

    def install(self, sql: dict[str, str]) -> None:
        """(Re)create the chain's views from the given compiled SQL."""
        for name in CHAIN:
            self.con.execute(f"create or replace view {self.relations[name]} as {sql[name]}")

    def _load(self, relation: str, rows: list[dict]) -> None:
        self.con.execute(f"delete from {relation} where true")
        if rows:
            self.con.register("loaded_rows", pa.Table.from_pylist(rows))
            self.con.execute(f"insert into {relation} by name select * from loaded_rows")
            self.con.unregister("loaded_rows")

    def decide(self, batch: list[World]) -> list[dict[tuple[str, Ident], Answer]]:
        """Load the worlds side by side (world k under namespace k) and read the gate once."""
        tables: dict[str, list[dict]] = {name: [] for name in INPUTS}
        tables["int_customers__touchpoints"].append({"occurred_at": AS_OF})
        listed = list(self.listed_seed_rows)
        places: dict[str, tuple[int, Ident]] = {}
        for k, world in enumerate(batch):
            for table, rows in _rows(world, k).items():
                tables[table].extend(rows)
            listed.extend(_listed_rows(world, k))
            places.update({address_of(i.type, i.index, k): (k, i) for i in world.idents})
        for name, rows in tables.items():
            self._load(self.relations[name], rows)
        self._load(self.suppression_list, listed)
        answers: list[dict[tuple[str, Ident], Answer]] = [{} for _ in batch]
        for channel, address, *row in self.con.execute(
            "select channel, address, address_type, customer_id, is_sendable, is_suppressed,"
            f" permission_status, decided_at from {self.relations[GATE]}"
        ).fetchall():
            k, ident = places[address]
            owner = None if row[1] is None else int(row[1].rsplit("_", 1)[1])
            assert (channel, ident) not in answers[k], f"two gate rows for {channel} {address}"
            answers[k][channel, ident] = Answer(row[0], owner, *row[2:])
        return answers


def _customer_id(owner: int | None, k: int) -> str | None:
    return None if owner is None else f"w{k:04d}_cus_{owner}"


def _rows(world: World, k: int) -> dict[str, list[dict]]:
    """The chain's inputs for world number k (its records, identifiers and customers)."""

    def value(ident: Ident) -> str:
        return address_of(ident.type, ident.index, k)

    identifiers = [
        {
            "customer_id": _customer_id(i.owner, k),
            "identifier_type": i.type,
            "identifier": value(i),
            "node_id": 100 * k + n,
            "identifier_priority": int(IDENTIFIER_TYPES[i.type]["priority"]),
            "is_shared": i.owner is None,
            "first_seen_at": T0,
            "last_seen_at": T0,
        }
        for n, i in enumerate(world.idents)
    ]
    consents, messages, events, observations = [], [], [], []
    for n, c in enumerate(world.consents):
        record = f"w{k}-con-{n}"
        consents.append(
            {
                "consent_id": record,
                "occurred_at": c.at,
                "identifier_type": c.ident.type,
                "identifier": value(c.ident),
                "identifier_as_delivered": value(c.ident),
                "channel": c.channel,
                "consent_status": "opt_in" if c.opt_in else "opt_out",
                "is_opt_in": c.opt_in,
                "consent_source": "test",
            }
        )
        observations.append(("consents", record, c.at, c.ident))
    for n, m in enumerate(world.messages):
        record = f"w{k}-me-{n}"
        messages.append(
            {
                "message_event_id": record,
                "occurred_at": m.at,
                "channel": m.channel,
                "campaign_id": "test",
                "message_id": f"w{k}-m{m.message}",
                "recipient": value(m.ident),
                "recipient_email": value(m.ident) if m.ident.type == "email" else None,
                "recipient_phone": value(m.ident) if m.ident.type == "phone" else None,
                "event_type": m.event_type,
            }
        )
        observations.append(("message_events", record, m.at, m.ident))
    for n, (token, touch) in enumerate(world.sightings):
        record = f"w{k}-ev-{n}"
        events.append(
            {
                "event_id": record,
                "event_type": "track" if touch == "web" else "screen",
                "occurred_at": T0,
                "push_token": value(token),
                "touch_channel": touch,
            }
        )
        observations.append(("events", record, T0, token))
    return {
        "dim_customer_identifiers": identifiers,
        "stg_consents": consents,
        "stg_message_events": messages,
        "stg_events": events,
        "int_identity__observations": [
            {
                "source_name": source,
                "record_id": record,
                "observed_at": at,
                "identifier_type": i.type,
                "identifier": value(i),
            }
            for source, record, at, i in observations
        ],
        "int_customers__touchpoints": [],
    }


def _listed_rows(world: World, k: int) -> list[dict]:
    rows = []
    for e in world.entries:
        if e.target is None:  # unknown to the warehouse: matches no one
            identifier_type, options = (
                ("email", "crm_contact_id")[e.spelling % 2],
                ("x@nowhere.ex",),
            )
        else:
            identifier_type = e.target.type
            options = spellings(e.target.type, address_of(e.target.type, e.target.index, k))
        if e.channel is None:
            channel = (None, "", "  ")[e.channel_spelling]
        else:
            channel = (e.channel, e.channel.upper(), f" {e.channel.capitalize()} ")[
                e.channel_spelling
            ]
        typed = (identifier_type, identifier_type.upper(), f" {identifier_type.capitalize()} ")
        rows.append(
            {
                "identifier_type": typed[e.type_spelling],
                "identifier": options[e.spelling % len(options)],
                "channel": channel,
                "reason": "test",
                "added_on": date(2026, 9, 1),
            }
        )
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    manifest = _compile(tmp_path_factory.mktemp("consent_sql"))
    built = Warehouse(manifest)
    yield built
    built.con.close()


# --- the property --------------------------------------------------------------------------


@dataclass
class Tally:
    examples: int = 0
    batched: int = 0  # examples answered by the batched run (the rest were decided alone)
    sendable: int = 0
    blocked: int = 0
    statuses: Counter = field(default_factory=Counter)
    only_reason: Counter = field(default_factory=Counter)  # blocked by that rule alone
    lifted_unsubscribes: int = 0  # unsubscribed, opted in again later: sendable


def check_world(
    world: World, decided: dict[tuple[str, Ident], Answer], tally: Tally, *, safety_only: bool
) -> None:
    expected = oracle(world)
    for (channel, ident), answer in decided.items():
        if not answer.is_sendable:
            continue
        decision = expected.get((channel, ident))
        assert decision is not None, f"SAFETY: {channel} {ident} sendable, an unknown address"
        assert decision.status == "sendable", (
            f"SAFETY: {channel} {ident} is sendable but {sorted(decision.reasons)}"
        )
    tally.examples += 1
    if safety_only:
        return
    assert set(decided) == set(expected), "the gate's addresses differ from the oracle's"
    for (channel, ident), decision in expected.items():
        answer = decided[channel, ident]
        got = (answer.address_type, answer.owner, answer.permission_status, answer.is_suppressed)
        want = (ident.type, ident.owner, decision.status, decision.suppressed)
        assert got == want, f"{channel} {ident}: gate {got}, rules {want} {decision.reasons}"
        assert answer.is_sendable == (decision.status == "sendable")
        assert answer.decided_at == AS_OF
        tally.statuses[decision.status] += 1
        if answer.is_sendable:
            tally.sendable += 1
            tally.lifted_unsubscribes += any(
                m.ident == ident and m.channel == channel and m.event_type == "unsubscribed"
                for m in world.messages
            )
        else:
            tally.blocked += 1
            if len(set(decision.reasons)) == 1:
                tally.only_reason[decision.reasons[0]] += 1


def run_property(
    house: Warehouse, tally: Tally, *, safety_only: bool = False, **options: object
) -> dict[World, dict[tuple[str, Ident], Answer]]:
    """Run the property over hypothesis's examples, their SQL decided in one batch; return
    the batched answers.

    safety_only: check only that nothing the rules block is sendable (not that every other
    decision agrees too).
    """
    collected: list[World] = []
    answers: dict[World, dict[tuple[str, Ident], Answer]] = {}

    @settings(
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        **options,
    )
    @given(world=worlds())
    def property_holds(world: World) -> None:
        if collecting:
            collected.append(world)
            return
        if world in answers:
            tally.batched += 1
            decided = answers[world]
        else:
            decided = house.decide([world])[0]
        check_world(world, decided, tally, safety_only=safety_only)

    collecting = True
    property_holds()
    unique = list(dict.fromkeys(collected))
    answers.update(zip(unique, house.decide(unique), strict=True))
    collecting = False
    property_holds()
    return answers


def test_no_opted_out_or_suppressed_address_is_sendable(warehouse: Warehouse) -> None:
    tally = Tally()
    started = time.perf_counter()
    answers = run_property(warehouse, tally, max_examples=MIN_EXAMPLES)
    print(
        f"\nconsent property: {tally.examples} examples ({tally.batched} decided in the batch) in"
        f" {time.perf_counter() - started:.1f} s: {tally.sendable} sendable and {tally.blocked}"
        f" blocked (channel, address) decisions; statuses {dict(tally.statuses)}; blocked by"
        f" one rule alone {dict(tally.only_reason)}; unsubscribes lifted by a later opt-in:"
        f" {tally.lifted_unsubscribes}"
    )
    assert tally.examples >= MIN_EXAMPLES
    # Not vacuous: every decision occurs, and every suppression alone blocked some address.
    assert {s: tally.statuses[s] for s in STATUSES if tally.statuses[s] < 20} == {}
    rare = {r: tally.only_reason[r] for r in ("shared_address", *SUPPRESSIONS)}
    assert {r: n for r, n in rare.items() if n < 5} == {}
    assert tally.lifted_unsubscribes >= 5
    # Side by side in the batch, a world is decided as it is alone.
    for world in list(answers)[:: len(answers) // 10]:
        assert warehouse.decide([world])[0] == answers[world], world


# A broken rule must make the property fail: each mutation edits the compiled SQL in memory.
MUTATIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "suppression ignored": (
        (
            "int_audiences__contact_permissions",
            "when is_suppressed then 'suppressed'",
            "when false then 'suppressed'",
        ),
    ),
    "customer opt-out ignored": (
        (
            "int_audiences__contact_permissions",
            "when coalesce(customer_consent_status, 'none') = 'opt_out'",
            "when false",
        ),
    ),
    "opt-in wins a tie": tuple(
        (
            model,
            "case when is_opt_in then 1 else 0 end asc",
            "case when is_opt_in then 0 else 1 end",
        )
        for model in ("int_audiences__address_consents", "int_customers__consents")
    ),
    "opt-in at the moment of an unsubscribe lifts it": (
        (
            "int_audiences__suppressions",
            "unsubscriptions.unsubscribed_at < address_consents.consent_at",
            "unsubscriptions.unsubscribed_at <= address_consents.consent_at",
        ),
    ),
    "complaint suppresses its own channel only": (
        (
            "int_audiences__suppressions",
            "cast(null as TEXT) as channel,\n        'complained'",
            "'email' as channel,\n        'complained'",
        ),
    ),
    "four failures to be undeliverable": (
        ("int_audiences__suppressions", "failed_message_count >= 3", "failed_message_count >= 4"),
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_a_broken_rule_is_caught(warehouse: Warehouse, mutation: str) -> None:
    sql = dict(warehouse.sql)
    for model, rule, broken in MUTATIONS[mutation]:
        assert sql[model].count(rule) == 1, f"{model} no longer has: {rule}"
        sql[model] = sql[model].replace(rule, broken)
    warehouse.install(sql)
    try:
        with pytest.raises(AssertionError, match="SAFETY"):
            run_property(
                warehouse,
                Tally(),
                safety_only=True,
                max_examples=300,
                phases=[Phase.generate],
                report_multiple_bugs=False,
            )
    finally:
        warehouse.install(warehouse.sql)
