{#
    Abandoned cart: customers who added products to the cart in the last var
    `audience_cart_window_hours` (default 24) hours up to int_customers__as_of
    and placed no order since. The cart: every product whose latest cart event
    after the customer's last order is an add (a later removal takes it out),
    added within the window. Attributes: product ids and names, cart value (sum
    of the added products' prices, when the events carry them) and the time of
    the last add.
#}
{%- set window_hours = var('audience_cart_window_hours', 24) -%}

with

events as (
    select * from {{ ref('stg_events') }}
    where lower(event_name) in ('product added', 'product removed') and product_id is not null
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

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

last_orders as (
    select
        customer_id,
        max(ordered_at) as last_ordered_at
    from orders
    group by customer_id
),

cart_events as (
    select
        record_customers.customer_id,
        events.product_id,
        events.occurred_at,
        events.price,
        events.currency,
        events.event_name,
        row_number() over (
            partition by record_customers.customer_id, events.product_id
            order by events.occurred_at desc, events.event_id desc
        ) as product_event_rank
    from events
    inner join record_customers
        on events.event_id = record_customers.record_id
    cross join as_of
    left join last_orders
        on record_customers.customer_id = last_orders.customer_id
    where
        events.occurred_at <= as_of.as_of_at
        and (
            last_orders.last_ordered_at is null
            or events.occurred_at > last_orders.last_ordered_at
        )
),

cart_lines as (
    select
        cart_events.customer_id,
        cart_events.product_id,
        cart_events.currency,
        cart_events.occurred_at as added_at,
        coalesce(products.product_name, cart_events.product_id) as product_name,
        coalesce(cart_events.price, products.price) as price
    from cart_events
    cross join as_of
    left join products
        on cart_events.product_id = products.product_id
    where
        cart_events.product_event_rank = 1
        and lower(cart_events.event_name) = 'product added'
        and cart_events.occurred_at > {{ dbt.dateadd('hour', -window_hours, 'as_of.as_of_at') }}
),

carts as (
    select
        customer_id,
        count(*) as product_count,
        {{ sorted_listagg('product_id') }} as product_ids,
        {{ sorted_listagg('product_name') }} as product_names,
        sum(price) as cart_value,
        max(currency) as currency,
        max(added_at) as last_added_at
    from cart_lines
    group by customer_id
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'Added '",
            'cast(product_count as ' ~ dbt.type_string() ~ ')',
            "' product(s) to the cart in the last " ~ window_hours ~ " hours, no order since'",
        ]) }} as reason,
        {{ json_object_text([
            ('product_ids', 'product_ids'),
            ('product_names', 'product_names'),
            ('product_count', 'product_count'),
            ('cart_value', 'cart_value'),
            ('currency', 'currency'),
            ('last_added_at', 'cast(last_added_at as ' ~ dbt.type_string() ~ ')'),
        ]) }} as attributes
    from carts
)

{{ audience_members('candidates') }}
