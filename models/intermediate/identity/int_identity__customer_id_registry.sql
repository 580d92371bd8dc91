{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}

{#
    Every customer id ever issued, with the identifier it was issued for (its
    anchor). Append-only and kept through --full-refresh: it is the memory that
    makes ids stable. A component none of whose identifiers anchors an id yet gets
    a new one, derived from its earliest-seen identifier (ties: type priority, then
    value), so that a warehouse rebuilt from the same files issues the same ids.
#}
with

node_components as (
    select * from {{ ref('int_identity__node_components') }}
    where component_id is not null
),

{% if is_incremental() %}
registered_anchors as (
    select
        anchor_identifier_type,
        anchor_identifier
    from {{ this }}
),
{% else %}
registered_anchors as (
    select
        cast(null as {{ dbt.type_string() }}) as anchor_identifier_type,
        cast(null as {{ dbt.type_string() }}) as anchor_identifier
    where 1 = 0
),
{% endif %}

registered_components as (
    select distinct node_components.component_id
    from node_components
    inner join registered_anchors
        on
            node_components.identifier_type = registered_anchors.anchor_identifier_type
            and node_components.identifier = registered_anchors.anchor_identifier
),

ranked_anchor_candidates as (
    select
        node_components.identifier_type,
        node_components.identifier,
        row_number() over (
            partition by node_components.component_id
            order by
                node_components.first_seen_at,
                node_components.identifier_priority,
                node_components.identifier_type,
                node_components.identifier
        ) as anchor_rank
    from node_components
    left join registered_components
        on node_components.component_id = registered_components.component_id
    where registered_components.component_id is null
)

select
    {{ customer_id_for_anchor('identifier_type', 'identifier') }} as customer_id,
    identifier_type as anchor_identifier_type,
    identifier as anchor_identifier,
    {{ dbt.current_timestamp() }} as issued_at
from ranked_anchor_candidates
where anchor_rank = 1
