{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
    )
}}

{#
    Every change of a customer's id, for destinations to follow: a merge (two
    customers turned out to be one person: from_customer_id is retired in favour
    of to_customer_id) or a split (a retired id stands for a customer of its own
    again). Append-only and kept through --full-refresh; a change is written once,
    in the run that sees it. The reason names the newest link of the component
    between two identifiers, the evidence that most likely joined the two.
#}
with

customer_ids as (
    select * from {{ ref('int_identity__customer_ids') }}
),

node_components as (
    select * from {{ ref('int_identity__node_components') }}
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

{% if is_incremental() %}
recorded_changes as (
    select * from {{ this }}
),
{% else %}
recorded_changes as (
    select
        cast(null as {{ dbt.type_string() }}) as from_customer_id,
        cast(null as {{ dbt.type_string() }}) as to_customer_id,
        cast(null as {{ dbt.type_string() }}) as change_type,
        cast(null as {{ dbt.type_timestamp() }}) as changed_at
    where 1 = 0
),
{% endif %}

latest_recorded_changes as (
    select
        from_customer_id,
        to_customer_id,
        change_type,
        row_number() over (
            partition by
                case when change_type = 'merge' then from_customer_id else to_customer_id end
            order by changed_at desc
        ) as recency_rank
    from recorded_changes
),

retired_ids as (
    select
        latest_recorded_changes.from_customer_id as retired_customer_id,
        latest_recorded_changes.to_customer_id as surviving_customer_id
    from latest_recorded_changes
    where latest_recorded_changes.change_type = 'merge' and latest_recorded_changes.recency_rank = 1
),

new_merges as (
    select
        customer_ids.component_id,
        customer_ids.customer_id as from_customer_id,
        customer_ids.surviving_customer_id as to_customer_id,
        'merge' as change_type
    from customer_ids
    left join retired_ids
        on
            customer_ids.customer_id = retired_ids.retired_customer_id
            and customer_ids.surviving_customer_id = retired_ids.surviving_customer_id
    where not customer_ids.is_surviving and retired_ids.retired_customer_id is null
),

new_splits as (
    select
        customer_ids.component_id,
        retired_ids.surviving_customer_id as from_customer_id,
        customer_ids.customer_id as to_customer_id,
        'split' as change_type
    from customer_ids
    inner join retired_ids on customer_ids.customer_id = retired_ids.retired_customer_id
    where customer_ids.is_surviving
),

new_changes as (
    select * from new_merges
    union all
    select * from new_splits
),

component_edges as (
    select
        node_components.component_id,
        edges.identifier_type_a,
        edges.identifier_type_b,
        edges.source_name,
        edges.first_seen_at,
        row_number() over (
            partition by node_components.component_id
            order by
                edges.first_loaded_at desc,
                edges.first_seen_at desc,
                edges.node_a asc,
                edges.node_b asc
        ) as newest_rank
    from edges
    inner join node_components on edges.node_a = node_components.node_id
    inner join new_changes on node_components.component_id = new_changes.component_id
)

select
    {{ generate_surrogate_key([
        'new_changes.from_customer_id', 'new_changes.to_customer_id',
        'new_changes.change_type', dbt.current_timestamp()]) }} as change_id,
    new_changes.from_customer_id,
    new_changes.to_customer_id,
    new_changes.change_type,
    {{ dbt.current_timestamp() }} as changed_at,
    case
        when new_changes.change_type = 'merge'
            then
                component_edges.identifier_type_a || ' and ' || component_edges.identifier_type_b
                || ' seen together in ' || component_edges.source_name
        else 'the identifiers that joined the two customers are no longer linked'
    end as reason,
    component_edges.first_seen_at as evidence_seen_at
from new_changes
left join component_edges
    on new_changes.component_id = component_edges.component_id and component_edges.newest_rank = 1
