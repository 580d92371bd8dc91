with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

identifier_types as (
    select * from {{ ref('identifier_types') }}
),

nodes as (
    select
        {{ identity_node_id('observations.identifier_type', 'observations.identifier') }}
            as node_id,
        observations.identifier_type,
        observations.identifier,
        min(observations.observed_at) as first_seen_at,
        max(observations.observed_at) as last_seen_at,
        min(observations._loaded_at) as first_loaded_at,
        count(*) as observation_count,
        count(distinct observations.source_name) as source_count
    from observations
    group by observations.identifier_type, observations.identifier
)

select
    nodes.node_id,
    nodes.identifier_type,
    nodes.identifier,
    identifier_types.priority as identifier_priority,
    nodes.first_seen_at,
    nodes.last_seen_at,
    nodes.first_loaded_at,
    nodes.observation_count,
    nodes.source_count
from nodes
left join identifier_types
    on nodes.identifier_type = identifier_types.identifier_type
