{#
    The conversions: every order placed (the orders feed, whatever the order's
    later status), with its amount in the reporting currency and the time of
    the same customer's previous order, where its journey starts at the
    earliest.
#}
with

orders as (
    select * from {{ ref('int_customers__orders') }}
),

conversions as (
    select
        order_id,
        customer_id,
        ordered_at as converted_at,
        cast(ordered_at as date) as conversion_date,
        channel as converting_channel,
        order_status,
        order_amount as revenue,
        net_amount as net_revenue,
        reporting_currency as revenue_currency,
        case
            when customer_id is not null
                then row_number() over (
                    partition by customer_id
                    order by ordered_at, order_id
                )
        end as customer_order_number,
        case
            when customer_id is not null
                then lag(ordered_at) over (
                    partition by customer_id
                    order by ordered_at, order_id
                )
        end as previous_converted_at
    from orders
)

select * from conversions
