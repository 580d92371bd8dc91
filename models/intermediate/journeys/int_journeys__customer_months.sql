{#
    Every buyer at the end of every month with orders: their orders and net
    revenue up to the end of the month, and whether they were multichannel by
    then. Multichannel follows dim_customers.is_multichannel, measured at the
    end of the month: the customer had acted (a touchpoint whose touch type
    weighs more than 0 in seed touch_types) on two channels or more.
#}
with

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
    where customer_id is not null and channel is not null
),

touch_types as (
    select * from {{ ref('touch_types') }}
    where engagement_weight > 0
),

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null
),

channel_first_actions as (
    select
        touchpoints.customer_id,
        touchpoints.channel,
        min(touchpoints.occurred_at) as first_action_at
    from touchpoints
    inner join touch_types
        on touchpoints.touch_type = touch_types.touch_type
    group by
        touchpoints.customer_id,
        touchpoints.channel
),

ranked_channels as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by first_action_at, channel
        ) as channel_rank
    from channel_first_actions
),

-- the moment the customer first acted on a second channel
multichannel_starts as (
    select
        customer_id,
        first_action_at as multichannel_at
    from ranked_channels
    where channel_rank = 2
),

months as (
    select distinct cast({{ dbt.date_trunc('month', 'ordered_at') }} as date) as month_start
    from orders
),

month_bounds as (
    select
        month_start,
        {{ dbt.dateadd('month', 1, 'month_start') }} as next_month_start
    from months
),

orders_to_date as (
    select
        month_bounds.month_start,
        month_bounds.next_month_start,
        orders.customer_id,
        count(*) as orders_count,
        sum(case when orders.is_completed then 1 else 0 end) as completed_orders_count,
        sum(orders.net_amount) as net_revenue
    from month_bounds
    inner join orders
        on month_bounds.next_month_start > orders.ordered_at
    group by
        month_bounds.month_start,
        month_bounds.next_month_start,
        orders.customer_id
),

customer_months as (
    select
        orders_to_date.month_start,
        orders_to_date.customer_id,
        orders_to_date.orders_count,
        orders_to_date.completed_orders_count,
        orders_to_date.net_revenue,
        coalesce(
            multichannel_starts.multichannel_at < orders_to_date.next_month_start, false
        ) as is_multichannel
    from orders_to_date
    left join multichannel_starts
        on orders_to_date.customer_id = multichannel_starts.customer_id
)

select * from customer_months
