"""Stitching on hand-made graphs with a known answer, and customer ids that stay put.

One landing zone is loaded drop by drop and the identity models are built with dbt after each
(see identity_landing.py; the whole pipeline runs in test_pipeline.py): chains,
cycles and stars become one customer each; a kiosk, a family e-mail and a till e-mail join
no one; ids survive a full rebuild and a rebuild from scratch; a merge keeps one id and is
recorded, and a later split brings the retired id back, recorded too.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from omni360.ingestion.loader import load_landing_file
from tests.dbt_runs import build_models
from tests.identity_landing import (
    CHAIN,
    CYCLE,
    STAR,
    X_EMAIL,
    Y_PHONE,
    write_drop_1,
    write_drop_2,
    write_drop_3,
)

IDENTITY_MARTS = "+dim_customer_identifiers +fct_customer_merges +fct_identity_suppressed_edges"

Mapping = dict[tuple[str, str], str | None]


def _run(landing: Path, db: Path, *flags: str) -> None:
    """Load what is new in the landing zone, then build the identity models (and their seeds)."""
    load_landing_file(db, landing)
    build_models(db, db.with_suffix(".target"), "--select", *IDENTITY_MARTS.split(), *flags)


def _identifiers(db: Path) -> Mapping:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.sql(
            "select identifier_type, identifier, customer_id from marts.dim_customer_identifiers"
        ).fetchall()
    return {(t, i): c for t, i, c in rows}


def _customers(mapping: Mapping, prefix: str) -> set[str | None]:
    return {c for (_, i), c in mapping.items() if i.startswith(prefix)}


def _changes(db: Path) -> list[tuple[str, str, str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(
            "select from_customer_id, to_customer_id, change_type, reason"
            " from marts.fct_customer_merges order by changed_at"
        ).fetchall()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("identity") / "landing"
    write_drop_1(root)
    return root


@pytest.fixture(scope="module")
def first_run(landing: Path) -> tuple[Path, Mapping]:
    db = landing.parent / "warehouse.duckdb"
    _run(landing, db)
    return db, _identifiers(db)


def test_chain_cycle_and_star_each_become_one_customer(first_run: tuple[Path, Mapping]) -> None:
    _, ids = first_run
    chain = _customers(ids, "chain-") | _customers(ids, "CHAIN-") | {ids[("user_id", "U-CHAIN")]}
    assert len(chain) == 1 and None not in chain
    assert len([k for k in ids if k[1].startswith(("chain-", "CHAIN-"))]) == 2 * CHAIN + 1
    ring = _customers(ids, "ring-") | _customers(ids, "RING-")
    assert len(ring) == 1 and None not in ring
    assert len([k for k in ids if k[1].startswith(("ring-", "RING-"))]) == 2 * CYCLE
    star = _customers(ids, "star-") | {ids[("device_id", "STAR-DEV")]}
    assert len(star) == 1 and None not in star
    assert len([k for k in ids if k[1].startswith("star-")]) == STAR
    assert len(chain | ring | star) == 3


def test_shared_identifiers_join_no_one(first_run: tuple[Path, Mapping]) -> None:
    db, ids = first_run
    assert ids[("device_id", "KIOSK-1")] is None
    accounts = {ids[("user_id", u)] for u in ("U-A", "U-B", "U-C")}
    assert len(accounts) == 3 and None not in accounts
    for account in ("u-a", "u-b", "u-c"):  # each account keeps its own e-mail
        assert ids[("email", f"{account}@gmail.com")] == ids[("user_id", account.upper())]
    assert ids[("email", "family@ukr.net")] is None
    assert ids[("phone", "+380671000001")] == ids[("user_id", "U-F1")]
    assert ids[("phone", "+380671000002")] == ids[("user_id", "U-F2")]
    assert ids[("phone", "+380671000001")] != ids[("phone", "+380671000002")]
    assert ids[("email", "info@shop.example")] is None
    assert ids[("loyalty_card_id", "L-1")] != ids[("loyalty_card_id", "L-2")]

    with duckdb.connect(str(db), read_only=True) as con:
        suppressed = dict(
            con.sql(
                "select shared_identifier, string_agg(distinct reason, ' | ')"
                " from marts.fct_identity_suppressed_edges group by shared_identifier"
            ).fetchall()
        )
    assert set(suppressed) == {"KIOSK-1", "family@ukr.net", "info@shop.example"}
    assert "3 distinct user_id" in suppressed["KIOSK-1"]
    assert "2 distinct phone" in suppressed["family@ukr.net"]
    assert "block list" in suppressed["info@shop.example"]
    assert "2 distinct loyalty_card_id" in suppressed["info@shop.example"]


def test_ids_survive_a_full_rebuild_and_a_rebuild_from_scratch(
    landing: Path, first_run: tuple[Path, Mapping]
) -> None:
    db, ids = first_run
    _run(landing, db, "--full-refresh")
    assert _identifiers(db) == ids
    fresh = landing.parent / "fresh.duckdb"
    _run(landing, fresh)
    assert _identifiers(fresh) == ids
    assert _changes(db) == []


def test_a_merge_keeps_one_id_and_is_recorded_then_a_split_revives_it(
    landing: Path, first_run: tuple[Path, Mapping]
) -> None:
    db, before = first_run
    x, y = before[("email", X_EMAIL)], before[("phone", Y_PHONE)]
    assert x != y

    write_drop_2(landing)
    _run(landing, db)
    merged = _identifiers(db)
    survivor, retired = min(x, y), max(x, y)  # issued in the same run: the smaller id survives
    assert merged[("email", X_EMAIL)] == merged[("phone", Y_PHONE)] == survivor
    assert merged[("crm_contact_id", "C-XY")] == survivor
    untouched = {k: v for k, v in before.items() if v not in (x, y)}
    assert {k: merged[k] for k in untouched} == untouched
    [(from_id, to_id, change, reason)] = _changes(db)
    assert (from_id, to_id, change) == (retired, survivor, "merge")
    assert "crm_contacts" in reason

    write_drop_3(landing)
    _run(landing, db)
    split = _identifiers(db)
    assert split[("email", X_EMAIL)] is None  # now seen with two phones: shared
    assert {split[("user_id", "U-X")], split[("phone", Y_PHONE)]} == {x, y}
    assert {k: split[k] for k in untouched} == untouched
    assert [c[:3] for c in _changes(db)] == [
        (retired, survivor, "merge"),
        (survivor, retired, "split"),
    ]
