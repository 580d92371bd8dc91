{#
    Two identifiers observed together in one record (an event, an order, a CRM
    contact, a ticket, a survey response) are linked: one row per pair of nodes and
    source, node_a < node_b, with when the pair was first and last seen.

    The self-join pairs node ids and their identifier types alone (narrow rows: at
    a million customers it makes tens of millions of pairs). The identifiers
    themselves are not carried: the few models that show them (the suppressed
    links) join them back from int_identity__nodes for their own rows.
#}
with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

record_nodes as (
    select distinct
        source_name,
        record_id,
        {{ identity_node_id('identifier_type', 'identifier') }} as node_id,
        identifier_type,
        observed_at,
        _loaded_at
    from observations
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
