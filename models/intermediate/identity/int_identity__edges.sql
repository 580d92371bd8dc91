{#
    Two identifiers observed together in one record (an event, an order, a CRM
    contact, a ticket, a survey response) are linked: one row per pair of nodes and
    source, node_a < node_b, with when the pair was first and last seen.

    Each observation takes its node id from int_identity__nodes, where it is
    computed once per identifier: hashing every observation instead (tens of
    millions at a million customers) cost more than the join. The self-join
    pairs node ids and their identifier types alone (narrow rows: at a million
    customers it makes tens of millions of pairs). The identifiers themselves
    are not carried: the few models that show them (the suppressed links) join
    them back from int_identity__nodes for their own rows.
#}
with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

nodes as (
    select * from {{ ref('int_identity__nodes') }}
),

record_nodes as (
    select distinct
        observations.source_name,
        observations.record_id,
        nodes.node_id,
        nodes.identifier_type,
        observations.observed_at,
        observations._loaded_at
    from observations
    inner join nodes
        on
            observations.identifier_type = nodes.identifier_type
            and observations.identifier = nodes.identifier
),

record_pairs as (
    select
        node_a.node_id as node_a,
        node_b.node_id as node_b,
        node_a.identifier_type as identifier_type_a,
        node_b.identifier_type as identifier_type_b,
        node_a.source_name,
        node_a.observed_at,
        node_a._loaded_at
    from record_nodes as node_a
    inner join record_nodes as node_b
        on
            node_a.source_name = node_b.source_name
            and node_a.record_id = node_b.record_id
            and node_a.node_id < node_b.node_id
)

select
    node_a,
    node_b,
    source_name,
    identifier_type_a,
    identifier_type_b,
    min(observed_at) as first_seen_at,
    max(observed_at) as last_seen_at,
    min(_loaded_at) as first_loaded_at,
    count(*) as observation_count
from record_pairs
group by node_a, node_b, source_name, identifier_type_a, identifier_type_b
