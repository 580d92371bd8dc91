{#
    The customer id of every component. A component holds the anchors of the
    ids issued to its parts: when it holds one, that id is its id; when two
    customers merged it holds several and the id issued first survives (then the
    smallest id); the others are retired and recorded in fct_customer_merges.
#}
with

node_components as (
    select * from {{ ref('int_identity__node_components') }}
    where component_id is not null
),

registry as (
    select * from {{ ref('int_identity__customer_id_registry') }}
),

component_ids as (
    select
        node_components.component_id,
        registry.customer_id,
        registry.issued_at,
        row_number() over (
            partition by node_components.component_id
            order by registry.issued_at, registry.customer_id
        ) as survival_rank
    from node_components
    inner join registry
        on
            node_components.identifier_type = registry.anchor_identifier_type
            and node_components.identifier = registry.anchor_identifier
)

select
    component_id,
    customer_id,
    issued_at,
    survival_rank = 1 as is_surviving,
    first_value(customer_id) over (
        partition by component_id
        order by survival_rank
        rows between unbounded preceding and unbounded following
    ) as surviving_customer_id
from component_ids
