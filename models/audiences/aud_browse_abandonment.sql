{#
    Browse abandonment: customers who viewed products in the last var
    `audience_browse_window_hours` (default 48) hours up to int_customers__as_of
    and neither added anything to the cart nor ordered since the view; members
    of the abandoned-cart audience (holdout included) are left out, they get
    that message. Attributes: the products viewed (ids, names) and the time of
    the last view.
#}
{%- set window_hours = var('audience_browse_window_hours', 48) -%}

with

events as (
    select * from {{ ref('stg_events') }}
    where lower(event_name) in ('product viewed', 'product added')
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'events' and customer_id is not null
),

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null
),

products as (
    select * from {{ ref('stg_products') }}
),

abandoned_carts as (
    select * from {{ ref('aud_abandoned_cart') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

customer_events as (
    select
        record_customers.customer_id,
        events.product_id,
        events.occurred_at,
        lower(events.event_name) = 'product viewed' as is_view
    from events
    inner join record_customers
        on events.event_id = record_customers.record_id
    cross join as_of
    where events.occurred_at <= as_of.as_of_at
),

conversions as (
    select
        customer_id,
        occurred_at as converted_at
    from customer_events
    where not is_view

    union all

    select
        customer_id,
        ordered_at as converted_at
    from orders
),

last_conversions as (
    select
        customer_id,
        max(converted_at) as last_converted_at
    from conversions
    group by customer_id
),

recent_views as (
    select
        customer_events.customer_id,
        customer_events.product_id,
        coalesce(products.product_name, customer_events.product_id) as product_name,
        max(customer_events.occurred_at) as viewed_at
    from customer_events
    cross join as_of
    left join last_conversions
        on customer_events.customer_id = last_conversions.customer_id
    left join products
        on customer_events.product_id = products.product_id
    where
        customer_events.is_view
        and customer_events.product_id is not null
        and customer_events.occurred_at > {{ dbt.dateadd('hour', -window_hours, 'as_of.as_of_at') }}
        and (
            last_conversions.last_converted_at is null
            or customer_events.occurred_at > last_conversions.last_converted_at
        )
    group by
        customer_events.customer_id,
        customer_events.product_id,
        coalesce(products.product_name, customer_events.product_id)
),

browsers as (
    select
        recent_views.customer_id,
        count(*) as product_count,
        {{ sorted_listagg('recent_views.product_id') }} as product_ids,
        {{ sorted_listagg('recent_views.product_name') }} as product_names,
        max(recent_views.viewed_at) as last_viewed_at
    from recent_views
    left join abandoned_carts
        on recent_views.customer_id = abandoned_carts.customer_id
    where abandoned_carts.customer_id is null
    group by recent_views.customer_id
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'Viewed '",
            'cast(product_count as ' ~ dbt.type_string() ~ ')',
            "' product(s) in the last " ~ window_hours ~ " hours, no cart or order since'",
        ]) }} as reason,
        {{ json_object_text([
            ('product_ids', 'product_ids'),
            ('product_names', 'product_names'),
            ('product_count', 'product_count'),
            ('last_viewed_at', 'cast(last_viewed_at as ' ~ dbt.type_string() ~ ')'),
        ]) }} as attributes
    from browsers
)

{{ audience_members('candidates') }}
