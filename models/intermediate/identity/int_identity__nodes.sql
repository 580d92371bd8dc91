with

observations as (
    select * from {{ ref('int_identity__observations') }}
),

identifier_types as (
    select * from {{ ref('identifier_types') }}
),

-- each identifier per source first: the count of sources is then a count of rows,
-- not a distinct count inside the grouping of every observation. The trait candidates
-- group the observations the same way; one table shared by both was measured slower at
-- 1m (writing it cost more than the grouping it saves)
source_nodes as (
    select
        identifier_type,
        identifier,
        source_name,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        min(_loaded_at) as first_loaded_at,
        count(*) as observation_count
    from observations
    group by identifier_type, identifier, source_name
),

nodes as (
    select
        {{ identity_node_id('identifier_type', 'identifier') }} as node_id,
        identifier_type,
        identifier,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        min(first_loaded_at) as first_loaded_at,
        cast(sum(observation_count) as {{ dbt.type_bigint() }}) as observation_count,
        count(*) as source_count
    from source_nodes
    group by identifier_type, identifier
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
