{#
    Every order with its customer and its amount in the reporting currency
    (seed currency_rates). Net amount: what the customer kept, the amount of a
    completed order; a cancelled or returned order nets nothing (the feed has
    order-level statuses only, no partial returns).
#}
with

orders as (
    select * from {{ ref('stg_orders') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'orders'
),

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

orders_in_reporting_currency as (
    select
        orders.order_id,
        record_customers.customer_id,
        orders.ordered_at,
        orders.channel,
        orders.store_id,
        orders.order_status,
        orders.currency,
        orders.total_amount,
        currency_rates.reporting_currency,
        currency_rates.rate_to_reporting_currency,
        cast(orders.ordered_at as date) as order_date,
        cast(
            orders.total_amount * currency_rates.rate_to_reporting_currency as decimal(18, 2)
        ) as order_amount,
        cast(
            case
                when orders.order_status = 'completed'
                    then orders.total_amount * currency_rates.rate_to_reporting_currency
                else 0
            end as decimal(18, 2)
        ) as net_amount,
        orders.order_status = 'completed' as is_completed
    from orders
    left join record_customers
        on orders.order_id = record_customers.record_id
    left join currency_rates
        on orders.currency = currency_rates.currency
)

select * from orders_in_reporting_currency
