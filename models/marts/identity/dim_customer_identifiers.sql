with

node_components as (
    select * from {{ ref('int_identity__node_components') }}
),

customer_ids as (
    select * from {{ ref('int_identity__customer_ids') }}
    where is_surviving
)

select
    customer_ids.customer_id,
    node_components.identifier_type,
    node_components.identifier,
    node_components.node_id,
    node_components.identifier_priority,
    node_components.is_shared,
    node_components.first_seen_at,
    node_components.last_seen_at,
    node_components.observation_count,
    node_components.source_count
from node_components
left join customer_ids on node_components.component_id = customer_ids.component_id
