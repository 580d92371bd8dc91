{#
    Two identifiers observed together in one record (an event, an order, a CRM
    contact, a ticket, a survey response) are linked: one row per pair of nodes and
    source, node_a < node_b, with when the pair was first and last seen.
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
        identifier,
        observed_at,
        _loaded_at
    from observations
),

record_pairs as (
    select
        node_a.node_id as node_a,
        node_b.node_id as node_b,
        node_a.identifier_type as identifier_type_a,
        node_a.identifier as identifier_a,
        node_b.identifier_type as identifier_type_b,
        node_b.identifier as identifier_b,
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
    min(identifier_type_a) as identifier_type_a,
    min(identifier_a) as identifier_a,
    min(identifier_type_b) as identifier_type_b,
    min(identifier_b) as identifier_b,
    min(observed_at) as first_seen_at,
    max(observed_at) as last_seen_at,
    min(_loaded_at) as first_loaded_at,
    count(*) as observation_count
from record_pairs
group by node_a, node_b, source_name
