{#
    Replenishment due: customers who bought the same product on at least two
    days (completed orders) at a regular interval, and whose next purchase of
    it is due. Per customer and product: typical interval = days from the first
    to the last purchase / (purchases - 1); regular when the longest gap
    between two purchases is at most var `replenishment_max_gap_ratio`
    (default 2) times the shortest. Next due = last purchase + interval. The
    customer is reminded from interval - var `replenishment_lead_days`
    (default 2) days after the last purchase until var
    `replenishment_grace_days` (default 3) days after the due day, while they
    have not bought it again (the last purchase is the latest): a dog-food
    buyer every 40 days is reminded from day 38 to day 43. The interval must be
    longer than the lead. Several products due: the one due first (then the
    smallest product id). Attributes: product, interval, last purchase and due
    date.
#}
{%- set lead_days = var('replenishment_lead_days', 2) -%}
{%- set grace_days = var('replenishment_grace_days', 3) -%}
{%- set max_gap_ratio = var('replenishment_max_gap_ratio', 2) -%}

with

order_items as (
    select * from {{ ref('stg_order_items') }}
),

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null and is_completed
),

products as (
    select * from {{ ref('stg_products') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

purchase_days as (
    select
        orders.customer_id,
        order_items.product_id,
        orders.order_date
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    cross join as_of
    where
        order_items.product_id is not null
        and orders.order_date <= cast(as_of.as_of_at as date)
    group by orders.customer_id, order_items.product_id, orders.order_date
),

purchase_gaps as (
    select
        customer_id,
        product_id,
        order_date,
        {{ dbt.datediff(
            'lag(order_date) over (partition by customer_id, product_id order by order_date)',
            'order_date',
            'day',
        ) }} as gap_days
    from purchase_days
),

product_cycles as (
    select
        customer_id,
        product_id,
        count(*) as purchase_count,
        min(order_date) as first_purchased_on,
        max(order_date) as last_purchased_on,
        min(gap_days) as shortest_gap_days,
        max(gap_days) as longest_gap_days
    from purchase_gaps
    group by customer_id, product_id
),

regular_cycles as (
    select
        *,
        cast(round(
            1.0 * {{ dbt.datediff('first_purchased_on', 'last_purchased_on', 'day') }}
            / (purchase_count - 1)
        ) as integer) as interval_days
    from product_cycles
    where
        purchase_count >= 2
        and longest_gap_days <= {{ max_gap_ratio }} * shortest_gap_days
),

due_products as (
    select
        regular_cycles.customer_id,
        regular_cycles.product_id,
        regular_cycles.purchase_count,
        regular_cycles.interval_days,
        regular_cycles.last_purchased_on,
        cast(
            {{ dbt.dateadd(
                'day', 'regular_cycles.interval_days', 'regular_cycles.last_purchased_on'
            ) }} as date
        ) as next_due_on,
        {{ dbt.datediff(
            'regular_cycles.last_purchased_on', 'cast(as_of.as_of_at as date)', 'day'
        ) }} as days_since_last_purchase
    from regular_cycles
    cross join as_of
    where regular_cycles.interval_days > {{ lead_days }}
),

reminders as (
    select
        due_products.*,
        coalesce(products.product_name, due_products.product_id) as product_name,
        row_number() over (
            partition by due_products.customer_id
            order by due_products.next_due_on, due_products.product_id
        ) as reminder_rank
    from due_products
    left join products
        on due_products.product_id = products.product_id
    where
        due_products.days_since_last_purchase >= due_products.interval_days - {{ lead_days }}
        and due_products.days_since_last_purchase
        <= due_products.interval_days + {{ grace_days }}
),

candidates as (
    select
        customer_id,
        {{ dbt.concat([
            "'Buys '",
            'product_name',
            "' every '",
            'cast(interval_days as ' ~ dbt.type_string() ~ ')',
            "' days; due on '",
            'cast(next_due_on as ' ~ dbt.type_string() ~ ')',
        ]) }} as reason,
        {{ json_object_text([
            ('product_id', 'product_id'),
            ('product_name', 'product_name'),
            ('interval_days', 'interval_days'),
            ('purchase_count', 'purchase_count'),
            ('last_purchased_on', 'cast(last_purchased_on as ' ~ dbt.type_string() ~ ')'),
            ('next_due_on', 'cast(next_due_on as ' ~ dbt.type_string() ~ ')'),
        ]) }} as attributes
    from reminders
    where reminder_rank = 1
)

{{ audience_members('candidates') }}
