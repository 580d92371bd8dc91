"""Identity-stitching quality: the warehouse's customers against the generator's true persons.

Measured on `marts.dim_customer_identifiers`, which places every identifier in a customer
(customer_id null for identifiers the rules flagged shared). The truth identifiers are those
of one person each (order ids included); a truth identifier missing from the warehouse or
flagged shared counts as a customer of its own.

- Precision (gated): pairwise precision over the *evidenced* truth identifiers, those seen in
  a staging record beside another identifier (`evidence`). Identifiers the data never links to
  anything (anonymous visitors who never logged in, store orders without a customer
  identifier, addresses seen only in consents or message events) cannot be placed by any
  stitcher.
- Recall (gated): pairwise recall over the true pairs the records link (`reach`): two
  identifiers of one person connected by a chain of staging records, each record holding two
  of that person's identifiers.
- Recall over every pair of evidenced identifiers, and over every pair of truth identifiers,
  for information: both also count pairs no stitcher can link.
- Shared-identifier safety, for each identifier several people use: whether the rules
  flagged it; if not, whether it *joined two persons* (gated for devices and e-mails): the
  customer it ended in holds non-shared identifiers other than order ids of two or more true
  persons, i.e. two persons' profiles were fused. For information, the orders it *attributed*:
  orders in its customer bought by a person other than the customer's main person and seen
  in the records beside nothing but shared identifiers. No stitcher can tell such an order
  from the main person's; pairwise precision already counts the cost.
- For diagnosis: customers mixing persons, persons split over customers, and linked groups
  split over customers (evidenced identifiers).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from omni360.db import connect
from omni360.evaluation.evidence import STAGING_IDENTIFIER_COLUMNS, STAGING_SCHEMA, load_evidenced
from omni360.evaluation.pairs import PairCounts, pair_counts
from omni360.evaluation.reach import load_reach
from omni360.evaluation.truth import TruthError, load_truth, truth_paths

CUSTOMER_IDENTIFIERS = "marts.dim_customer_identifiers"
# Shared identifier types always reported, in this order (others follow if the truth has any).
SHARED_TYPES = ("device_id", "email", "anonymous_id", "push_token", "phone")
# A shared identifier of these types joining two persons fails the evaluation.
GATED_SHARED_TYPES = ("device_id", "email")


class EvaluationInputError(ValueError):
    """The truth folder or the warehouse lacks what the evaluation reads."""


@dataclass(frozen=True)
class SharedSafety:
    """What happened to the truth-shared identifiers of one type.

    shared = flagged + not_flagged + not_in_warehouse (flagged: the warehouse marks it
    shared and puts it in no customer). Of the not-flagged ones:

    - joined_two_persons: those whose customer holds non-shared identifiers other than order
      ids of two or more true persons: two persons' profiles fused.
    - orders_attributed_only_through_shared: distinct orders in the customer of one of them,
      bought by a person other than that customer's main person (the person with the most
      identifiers other than order ids there, then the most identifiers), and seen in the
      records beside no identifier but shared ones. Information: nothing in the data tells
      such an order apart, and pairwise precision already counts it.
    """

    identifier_type: str
    shared: int
    flagged: int
    not_flagged: int
    joined_two_persons: int
    orders_attributed_only_through_shared: int
    not_in_warehouse: int


@dataclass(frozen=True)
class StitchingQuality:
    """The measured stitching quality of one warehouse against one ground truth.

    `evidenced` and `all_truth` count pairs over the evidenced and over all truth
    identifiers; `linked_pairs` are the true pairs the records link, `linked_pairs_found`
    those of them in one customer. `mixed_customers` counts customers holding evidenced
    identifiers of two or more persons, `mixed_customers_beyond_orders` those holding
    evidenced identifiers other than order ids of two or more persons.
    """

    evidenced: PairCounts
    all_truth: PairCounts
    linked_pairs: int
    linked_pairs_found: int
    unplaced_evidenced: int
    mixed_customers: int
    mixed_customers_beyond_orders: int
    split_persons: int
    split_linked_groups: int
    shared: tuple[SharedSafety, ...]

    @property
    def precision(self) -> float:
        """Pairwise precision over the evidenced identifiers (gated): of the pairs of
        evidenced identifiers placed in one customer, the share that belong to one person."""
        return self.evidenced.precision

    @property
    def recall(self) -> float:
        """Pairwise recall over the true pairs the records link (gated): of the pairs of one
        person's identifiers connected by a chain of records, the share in one customer."""
        return self.linked_pairs_found / self.linked_pairs if self.linked_pairs else 1.0

    @property
    def recall_evidenced(self) -> float:
        """Pairwise recall over every pair of evidenced identifiers of one person
        (information: counts pairs the records do not link)."""
        return self.evidenced.recall

    @property
    def recall_all_truth(self) -> float:
        """Pairwise recall over every truth identifier (information: not all are placeable)."""
        return self.all_truth.recall

    @property
    def evidenced_share(self) -> float:
        """Share of the truth identifiers that are evidenced."""
        total = self.all_truth.identifiers
        return self.evidenced.identifiers / total if total else 1.0

    def shared_joins(self, types: tuple[str, ...] = GATED_SHARED_TYPES) -> int:
        """Shared identifiers of these types that joined two persons (see `SharedSafety`)."""
        return sum(s.joined_two_persons for s in self.shared if s.identifier_type in types)

    def failures(self, min_precision: float, min_recall: float) -> list[str]:
        """Why the stitching falls short of the minimums; empty when it does not."""
        reasons = []
        if self.precision < min_precision:
            reasons.append(f"precision {self.precision:.4f} < {min_precision}")
        if self.recall < min_recall:
            reasons.append(f"recall {self.recall:.4f} < {min_recall}")
        for s in self.shared:
            if s.identifier_type in GATED_SHARED_TYPES and s.joined_two_persons:
                reasons.append(
                    f"{s.joined_two_persons} shared {s.identifier_type} joined two persons"
                )
        return reasons

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON: the rates, the counts, and what each figure measures."""
        return {
            "precision_over_evidenced_identifiers": self.precision,
            "recall_over_linked_pairs": self.recall,
            "recall_over_evidenced_identifiers": self.recall_evidenced,
            "recall_over_all_truth_identifiers": self.recall_all_truth,
            "evidenced_share": self.evidenced_share,
            "evidenced": asdict(self.evidenced),
            "all_truth": asdict(self.all_truth),
            "linked_pairs": self.linked_pairs,
            "linked_pairs_found": self.linked_pairs_found,
            "unplaced_evidenced": self.unplaced_evidenced,
            "mixed_customers": self.mixed_customers,
            "mixed_customers_beyond_orders": self.mixed_customers_beyond_orders,
            "split_persons": self.split_persons,
            "split_linked_groups": self.split_linked_groups,
            "shared": [asdict(s) for s in self.shared],
            "definitions": DEFINITIONS,
        }


# What each figure of `StitchingQuality.to_dict` measures, for readers of the JSON.
DEFINITIONS: dict[str, str] = {
    "truth identifiers": (
        "identifiers of exactly one true person (order ids included); one missing from the "
        "warehouse or flagged shared counts as a customer of its own"
    ),
    "evidenced identifiers": (
        "truth identifiers seen in a staging record beside at least one other identifier"
    ),
    "precision_over_evidenced_identifiers": (
        "gated: of the pairs of evidenced identifiers in one customer, the share of one person"
    ),
    "recall_over_linked_pairs": (
        "gated: of the pairs of one person's identifiers connected by a chain of staging "
        "records (each holding two of that person's identifiers), the share in one customer"
    ),
    "recall_over_evidenced_identifiers": (
        "information: of the pairs of one person's evidenced identifiers, the share in one "
        "customer; counts pairs no record chain links"
    ),
    "recall_over_all_truth_identifiers": (
        "information: of the pairs of one person's truth identifiers, the share in one "
        "customer; counts identifiers the data never links to anything"
    ),
    "evidenced_share": "evidenced identifiers / truth identifiers",
    "linked_pairs": "pairs of one person's identifiers connected by a chain of records",
    "linked_pairs_found": "linked pairs in one customer",
    "unplaced_evidenced": "evidenced identifiers in no customer (missing or flagged shared)",
    "mixed_customers": "customers holding evidenced identifiers of two or more persons",
    "mixed_customers_beyond_orders": (
        "customers holding evidenced identifiers other than order ids of two or more persons"
    ),
    "split_persons": "persons whose evidenced identifiers sit in two or more customers",
    "split_linked_groups": "groups of record-linked identifiers split over customers",
    "shared.flagged": "shared identifiers the warehouse flags shared (in no customer)",
    "shared.not_flagged": "shared identifiers the warehouse places in a customer",
    "shared.joined_two_persons": (
        "gated for device_id and email: not-flagged shared identifiers whose customer holds "
        "non-shared identifiers other than order ids of two or more persons (profiles fused)"
    ),
    "shared.orders_attributed_only_through_shared": (
        "information: orders in the customer of a not-flagged shared identifier of this type, "
        "bought by a person other than the customer's main person (most identifiers other "
        "than order ids, then most identifiers) and seen beside no identifier but shared ones"
    ),
    "shared.not_in_warehouse": "shared identifiers absent from the warehouse",
}


def _check_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Raise `EvaluationInputError` unless every relation the evaluation reads exists."""
    needed = [CUSTOMER_IDENTIFIERS] + [
        f"{STAGING_SCHEMA}.{table}" for table in STAGING_IDENTIFIER_COLUMNS
    ]
    present = {
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    missing = [name for name in needed if name not in present]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise EvaluationInputError(
            f"the warehouse has no {missing[0]}{more}: run `omni360 run` first"
        )


def _place_truth(con: duckdb.DuckDBPyConnection) -> None:
    """Create `eval_placed`: each truth identifier with its person, whether it is evidenced,
    its reach group (evidenced ones), its customer (null if none) and its cluster (the
    customer, else a cluster of its own)."""
    con.execute(
        f"""
        create or replace temp table eval_placed as
        with predicted as (
            select identifier_type, identifier, min(customer_id) as customer_id
            from {CUSTOMER_IDENTIFIERS}
            group by identifier_type, identifier
        )
        select
            truth.person_id,
            truth.identifier_type,
            truth.identifier,
            evidenced.identifier is not null as is_evidenced,
            reach.reach_id,
            predicted.customer_id,
            coalesce(
                predicted.customer_id,
                'unplaced:' || truth.identifier_type || ':' || truth.identifier
            ) as cluster_id
        from eval_truth_identifiers as truth
        left join eval_evidenced as evidenced
            on truth.identifier_type = evidenced.identifier_type
            and truth.identifier = evidenced.identifier
        left join eval_reach as reach
            on truth.identifier_type = reach.identifier_type
            and truth.identifier = reach.identifier
        left join predicted
            on truth.identifier_type = predicted.identifier_type
            and truth.identifier = predicted.identifier
        """
    )


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _shared_safety(con: duckdb.DuckDBPyConnection) -> tuple[SharedSafety, ...]:
    """The outcome of each truth-shared identifier, counted by type (see `SharedSafety`)."""
    rows = con.execute(
        f"""
        with predicted as (
            select
                identifier_type,
                identifier,
                min(customer_id) as customer_id,
                bool_or(coalesce(is_shared, false)) as is_shared
            from {CUSTOMER_IDENTIFIERS}
            group by identifier_type, identifier
        ),
        fused_customers as (
            select customer_id
            from eval_placed
            where customer_id is not null and identifier_type <> 'order_id'
            group by customer_id
            having count(distinct person_id) >= 2
        ),
        person_weights as (
            select
                customer_id,
                person_id,
                count(*) filter (where identifier_type <> 'order_id') as profile_identifiers,
                count(*) as identifiers
            from eval_placed
            where customer_id is not null
            group by customer_id, person_id
        ),
        main_persons as (
            select customer_id, person_id
            from person_weights
            qualify row_number() over (
                partition by customer_id
                order by profile_identifiers desc, identifiers desc, person_id
            ) = 1
        ),
        order_companions as (
            select
                orders.identifier as order_id,
                companions.identifier_type,
                companions.identifier
            from eval_record_identifiers as orders
            inner join eval_record_identifiers as companions
                using (source_table, record_no)
            where orders.identifier_type = 'order_id'
                and companions.identifier_type <> 'order_id'
        ),
        orders_beside_only_shared as (
            select order_id
            from order_companions
            left join eval_truth_shared as shared
                using (identifier_type, identifier)
            group by order_id
            having bool_and(shared.identifier is not null)
        ),
        attributed_orders as (
            select placed.identifier as order_id, placed.customer_id
            from eval_placed as placed
            inner join main_persons using (customer_id)
            inner join orders_beside_only_shared
                on placed.identifier = orders_beside_only_shared.order_id
            where placed.identifier_type = 'order_id'
                and placed.person_id <> main_persons.person_id
        ),
        attributed_by_type as (
            select companions.identifier_type, count(distinct attributed.order_id) as orders
            from attributed_orders as attributed
            inner join order_companions as companions using (order_id)
            inner join predicted
                on companions.identifier_type = predicted.identifier_type
                and companions.identifier = predicted.identifier
            where not predicted.is_shared and predicted.customer_id = attributed.customer_id
            group by companions.identifier_type
        ),
        outcomes as (
            select
                shared.identifier_type,
                predicted.identifier is null as is_missing,
                coalesce(predicted.is_shared, false) as is_flagged,
                fused_customers.customer_id is not null as is_joining
            from eval_truth_shared as shared
            left join predicted
                on shared.identifier_type = predicted.identifier_type
                and shared.identifier = predicted.identifier
            left join fused_customers
                on predicted.customer_id = fused_customers.customer_id
        ),
        by_type as (
            select
                identifier_type,
                count(*) as shared,
                count(*) filter (where is_flagged) as flagged,
                count(*) filter (where not is_flagged and not is_missing) as not_flagged,
                count(*) filter (where not is_flagged and not is_missing and is_joining)
                    as joined_two_persons,
                count(*) filter (where is_missing) as not_in_warehouse
            from outcomes
            group by identifier_type
        )
        select
            by_type.identifier_type,
            by_type.shared,
            by_type.flagged,
            by_type.not_flagged,
            by_type.joined_two_persons,
            coalesce(attributed_by_type.orders, 0),
            by_type.not_in_warehouse
        from by_type
        left join attributed_by_type using (identifier_type)
        """
    ).fetchall()
    found = {row[0]: SharedSafety(row[0], *(int(v) for v in row[1:])) for row in rows}
    ordered = [found.pop(kind, SharedSafety(kind, 0, 0, 0, 0, 0, 0)) for kind in SHARED_TYPES]
    return (*ordered, *(found[kind] for kind in sorted(found)))


def evaluate_stitching(db_path: Path, truth_dir: Path) -> StitchingQuality:
    """Measure the stitching in the warehouse at `db_path` (opened read-only) against the
    ground truth in `truth_dir`. Raises `EvaluationInputError` when either lacks an input."""
    try:
        truth_paths(truth_dir)
    except TruthError as error:
        raise EvaluationInputError(str(error)) from None
    if not db_path.is_file():
        raise EvaluationInputError(f"no warehouse at {db_path}: run `omni360 run` first")
    with connect(db_path, read_only=True) as con:
        _check_warehouse(con)
        load_truth(con, truth_dir)
        load_evidenced(con)
        load_reach(con)
        _place_truth(con)
        # A reach group lies within one person: as the "person" of pair_counts its true
        # pairs are the linked pairs, and its correct pairs those found.
        linked = pair_counts(
            con,
            "(select reach_id as person_id, cluster_id from eval_placed where is_evidenced)",
        )
        return StitchingQuality(
            evidenced=pair_counts(con, "(select * from eval_placed where is_evidenced)"),
            all_truth=pair_counts(con, "eval_placed"),
            linked_pairs=linked.true_pairs,
            linked_pairs_found=linked.correct_pairs,
            unplaced_evidenced=_count(
                con, "select count(*) from eval_placed where is_evidenced and customer_id is null"
            ),
            mixed_customers=_count(
                con,
                """
                select count(*) from (
                    select customer_id from eval_placed
                    where is_evidenced and customer_id is not null
                    group by customer_id
                    having count(distinct person_id) >= 2
                )
                """,
            ),
            mixed_customers_beyond_orders=_count(
                con,
                """
                select count(*) from (
                    select customer_id from eval_placed
                    where is_evidenced and customer_id is not null
                        and identifier_type <> 'order_id'
                    group by customer_id
                    having count(distinct person_id) >= 2
                )
                """,
            ),
            split_persons=_count(
                con,
                """
                select count(*) from (
                    select person_id from eval_placed
                    where is_evidenced
                    group by person_id
                    having count(distinct cluster_id) >= 2
                )
                """,
            ),
            split_linked_groups=_count(
                con,
                """
                select count(*) from (
                    select reach_id from eval_placed
                    where is_evidenced
                    group by reach_id
                    having count(distinct cluster_id) >= 2
                )
                """,
            ),
            shared=_shared_safety(con),
        )
