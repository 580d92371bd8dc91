{#
    The orders of every customer who placed one: counts by status, revenue in
    the reporting currency, dates, channels, and days since the last order
    measured from int_customers__as_of.
#}
with

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

customer_order_channels as (
    select distinct
        customer_id,
        channel
    from orders
),

order_channel_lists as (
    select
        customer_id,
        count(*) as order_channel_count,
        {{ sorted_listagg('channel') }} as order_channels
    from customer_order_channels
    group by customer_id
),

customer_orders as (
    select
        customer_id,
        max(reporting_currency) as revenue_currency,
        count(*) as order_count,
        sum(case when order_status = 'completed' then 1 else 0 end) as completed_order_count,
        sum(case when order_status = 'cancelled' then 1 else 0 end) as cancelled_order_count,
        sum(case when order_status = 'returned' then 1 else 0 end) as returned_order_count,
        sum(order_amount) as gross_revenue,
        sum(net_amount) as net_revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        max(case when is_completed then ordered_at end) as last_completed_order_at
    from orders
    group by customer_id
),

order_summary as (
    select
        customer_orders.customer_id,
        customer_orders.revenue_currency,
        customer_orders.order_count,
        customer_orders.completed_order_count,
        customer_orders.cancelled_order_count,
        customer_orders.returned_order_count,
        customer_orders.gross_revenue,
        customer_orders.net_revenue,
        cast(
            customer_orders.net_revenue / nullif(customer_orders.completed_order_count, 0)
            as decimal(18, 2)
        ) as average_order_value,
        cast(customer_orders.first_order_at as date) as first_order_date,
        cast(customer_orders.last_order_at as date) as last_order_date,
        cast(customer_orders.last_completed_order_at as date) as last_completed_order_date,
        {{ dbt.datediff('customer_orders.last_order_at', 'as_of.as_of_at', 'day') }}
            as days_since_last_order,
        {{ dbt.datediff('customer_orders.last_completed_order_at', 'as_of.as_of_at', 'day') }}
            as days_since_last_completed_order,
        order_channel_lists.order_channel_count,
        order_channel_lists.order_channels
    from customer_orders
    cross join as_of
    inner join order_channel_lists
        on customer_orders.customer_id = order_channel_lists.customer_id
)

select * from order_summary
