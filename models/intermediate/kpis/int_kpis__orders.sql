{#
    One row per order with what the business KPIs need: amounts in the
    reporting currency (int_customers__orders; net amount = the amount of a
    completed order, 0 for a cancelled or returned one), the customer's
    segment, whether it is the customer's first purchase (first completed
    order; ties by order id) and its last-touch marketing channel and campaign
    (int_kpis__order_attribution).
#}
with

orders as (
    select * from {{ ref('int_customers__orders') }}
),

customer_segments as (
    select * from {{ ref('int_kpis__customer_segments') }}
),

order_attribution as (
    select * from {{ ref('int_kpis__order_attribution') }}
),

ranked_purchases as (
    select
        order_id,
        row_number() over (
            partition by customer_id
            order by ordered_at, order_id
        ) as purchase_number
    from orders
    where customer_id is not null and order_status = 'completed'
),

kpi_orders as (
    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.channel,
        orders.order_status,
        orders.reporting_currency,
        orders.order_amount,
        orders.net_amount,
        order_attribution.attributed_channel,
        order_attribution.attributed_campaign_id,
        order_attribution.attributed_touch_type,
        order_attribution.attributed_touched_at,
        coalesce(customer_segments.segment, 'unsegmented') as segment,
        orders.order_status = 'completed' as is_completed,
        orders.order_status = 'returned' as is_returned,
        orders.order_status = 'cancelled' as is_cancelled,
        coalesce(ranked_purchases.purchase_number = 1, false) as is_first_purchase
    from orders
    left join customer_segments
        on orders.customer_id = customer_segments.customer_id
    left join ranked_purchases
        on orders.order_id = ranked_purchases.order_id
    left join order_attribution
        on orders.order_id = order_attribution.order_id
)

select * from kpi_orders
