"""Pairwise precision and recall of a clustering against the true persons.

Over a set of identifiers, each with its true person and its predicted cluster: a pair of
identifiers is predicted when both sit in one cluster, true when both belong to one person,
correct when both. The counts come from the person x cluster contingency table, as
sum n(n-1)/2 over its cells (correct), its cluster totals (predicted) and its person totals
(true), without enumerating pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class PairCounts:
    """Identifier pairs of one evaluation universe."""

    identifiers: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are true (1.0 when nothing was linked)."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs that were predicted (1.0 when there is nothing to link)."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def pair_counts(con: duckdb.DuckDBPyConnection, relation: str) -> PairCounts:
    """Pair counts over `relation`, a table or subquery with columns person_id, cluster_id."""
    row = con.execute(
        f"""
        with cells as (
            select person_id, cluster_id, count(*) as n
            from {relation}
            group by person_id, cluster_id
        ),
        clusters as (select sum(n) as n from cells group by cluster_id),
        persons as (select sum(n) as n from cells group by person_id)
        select
            (select coalesce(sum(n), 0) from cells),
            (select coalesce(sum(n * (n - 1) // 2), 0) from persons),
            (select coalesce(sum(n * (n - 1) // 2), 0) from clusters),
            (select coalesce(sum(n * (n - 1) // 2), 0) from cells)
        """
    ).fetchone()
    assert row is not None
    return PairCounts(*(int(value) for value in row))
