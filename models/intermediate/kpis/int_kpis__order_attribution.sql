{#
    Last-touch attribution of every order of a known customer: the latest
    marketing touch of the customer (int_kpis__marketing_touches) at or before
    the order and less than var `attribution_lookback_days` (default 30) days
    before it, on any device or channel; a tie at the same instant goes to the
    message click, then to the smaller channel and campaign. Orders without
    such a touch are not attributed (no row).
#}
{%- set lookback_days = var('attribution_lookback_days', 30) -%}

with

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null
),

marketing_touches as (
    select * from {{ ref('int_kpis__marketing_touches') }}
),

candidate_touches as (
    select
        orders.order_id,
        marketing_touches.channel,
        marketing_touches.campaign_id,
        marketing_touches.touch_type,
        marketing_touches.touched_at,
        row_number() over (
            partition by orders.order_id
            order by
                marketing_touches.touched_at desc,
                case when marketing_touches.touch_type = 'message_click' then 0 else 1 end asc,
                marketing_touches.channel asc,
                marketing_touches.campaign_id asc
        ) as touch_rank
    from orders
    inner join marketing_touches
        on
            orders.customer_id = marketing_touches.customer_id
            and orders.ordered_at >= marketing_touches.touched_at
            and {{ dbt.dateadd('day', -lookback_days, 'orders.ordered_at') }}
            < marketing_touches.touched_at
),

order_attribution as (
    select
        order_id,
        channel as attributed_channel,
        campaign_id as attributed_campaign_id,
        touch_type as attributed_touch_type,
        touched_at as attributed_touched_at
    from candidate_touches
    where touch_rank = 1
)

select * from order_attribution
