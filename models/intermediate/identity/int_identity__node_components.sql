{#
    Every node of the identity graph with its component: the stitched component
    for a linked identifier, itself alone for one never linked. Shared
    identifiers are kept (flagged) but belong to no one's component.
#}
with

nodes as (
    select * from {{ ref('int_identity__nodes') }}
),

components as (
    select * from {{ ref('int_identity__components') }}
),

shared_identifiers as (
    select * from {{ ref('int_identity__shared_identifiers') }}
),

shared_nodes as (
    select distinct node_id from shared_identifiers
)

select
    nodes.node_id,
    nodes.identifier_type,
    nodes.identifier,
    nodes.identifier_priority,
    nodes.first_seen_at,
    nodes.last_seen_at,
    nodes.first_loaded_at,
    nodes.observation_count,
    nodes.source_count,
    shared_nodes.node_id is not null as is_shared,
    case
        when shared_nodes.node_id is null then coalesce(components.component_id, nodes.node_id)
    end as component_id
from nodes
left join components on nodes.node_id = components.node_id
left join shared_nodes on nodes.node_id = shared_nodes.node_id
