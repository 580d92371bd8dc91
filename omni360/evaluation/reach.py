"""Which true pairs the data can link at all: identifiers of one person joined by a chain of
staging records, each record holding two of that person's identifiers.

An identifier can be evidenced (seen beside another identifier) and still be out of reach of
the rest of its person: an app install whose anonymous id and push token only ever appear
together, an order whose only companion is a shared e-mail. No stitcher can link such
islands to the person's other identifiers, so recall is measured over the pairs inside one
reach group.
"""

from __future__ import annotations

import duckdb

# Labels only decrease, so propagation converges; this only guards against a runaway loop.
MAX_ROUNDS = 10_000


def load_reach(con: duckdb.DuckDBPyConnection) -> None:
    """Create `eval_reach(identifier_type, identifier, reach_id)` for every evidenced
    identifier: identifiers with one reach_id belong to one person and are linked by records.
    Needs the tables of `truth.load_truth` and `evidence.load_evidenced`."""
    # Each record links its identifiers of one person through a hub (the smallest of them):
    # a star per record and person, connected exactly like all the pairs.
    con.execute(
        """
        create or replace temp table eval_reach_links as
        with observed as (
            select
                records.source_table,
                records.record_no,
                truth.person_id,
                records.identifier_type || ':' || records.identifier as node
            from eval_record_identifiers as records
            inner join eval_truth_identifiers as truth
                on records.identifier_type = truth.identifier_type
                and records.identifier = truth.identifier
        ),
        stars as (
            select
                node,
                min(node) over (partition by source_table, record_no, person_id) as hub
            from observed
        )
        select distinct node as node_a, hub as node_b from stars where node <> hub
        union
        select distinct hub, node from stars where node <> hub
        """
    )
    con.execute(
        """
        create or replace temp table eval_reach_labels as
        select node, node as label
        from (select identifier_type || ':' || identifier as node from eval_evidenced)
        """
    )
    for _ in range(MAX_ROUNDS):
        con.execute(
            """
            create or replace temp table eval_reach_next as
            select
                labels.node,
                least(labels.label, coalesce(min(neighbours.label), labels.label)) as label
            from eval_reach_labels as labels
            left join eval_reach_links as links on labels.node = links.node_a
            left join eval_reach_labels as neighbours on links.node_b = neighbours.node
            group by labels.node, labels.label
            """
        )
        changed = con.execute(
            """
            select count(*)
            from eval_reach_next
            inner join eval_reach_labels using (node)
            where eval_reach_next.label <> eval_reach_labels.label
            """
        ).fetchone()
        con.execute("create or replace temp table eval_reach_labels as from eval_reach_next")
        if changed is None or changed[0] == 0:
            break
    else:
        raise RuntimeError(f"reach groups did not converge in {MAX_ROUNDS} rounds")
    con.execute(
        """
        create or replace temp table eval_reach as
        select
            split_part(node, ':', 1) as identifier_type,
            substr(node, strpos(node, ':') + 1) as identifier,
            label as reach_id
        from eval_reach_labels
        """
    )
