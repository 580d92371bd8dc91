{#
    Return on marketing investment and cost per acquisition per marketing
    channel and campaign, over the whole history: marketing cost
    (int_kpis__marketing_costs), the completed orders and net revenue
    attributed to the campaign by last touch (int_kpis__order_attribution) and
    the new customers whose first purchase it brought. ROMI = (attributed net
    revenue - cost) / cost; CPA = cost / new customers. Costs without a
    campaign (a platform's monthly fee) and touches without one (organic tags)
    have a null campaign_id.
#}
with

marketing_costs as (
    select * from {{ ref('int_kpis__marketing_costs') }}
),

orders as (
    select * from {{ ref('int_kpis__orders') }}
    where attributed_channel is not null
),

campaign_costs as (
    select
        channel,
        campaign_id,
        cost_amount,
        spend_amount,
        message_cost_amount,
        cast(0 as decimal(28, 6)) as attributed_net_revenue,
        0 as attributed_order_count,
        0 as new_customer_count,
        cost_date as activity_date
    from marketing_costs
),

campaign_orders as (
    select
        attributed_channel as channel,
        attributed_campaign_id as campaign_id,
        cast(0 as decimal(28, 6)) as cost_amount,
        cast(0 as decimal(28, 6)) as spend_amount,
        cast(0 as decimal(28, 6)) as message_cost_amount,
        net_amount as attributed_net_revenue,
        case when is_completed then 1 else 0 end as attributed_order_count,
        case when is_first_purchase then 1 else 0 end as new_customer_count,
        order_date as activity_date
    from orders
),

campaign_activity as (
    select * from campaign_costs
    union all
    select * from campaign_orders
),

campaign_totals as (
    select
        channel,
        campaign_id,
        min(activity_date) as first_activity_date,
        max(activity_date) as last_activity_date,
        sum(cost_amount) as cost_amount,
        sum(spend_amount) as spend_amount,
        sum(message_cost_amount) as message_cost_amount,
        sum(attributed_order_count) as attributed_order_count,
        sum(attributed_net_revenue) as attributed_net_revenue,
        sum(new_customer_count) as new_customer_count
    from campaign_activity
    group by channel, campaign_id
),

campaign_performance as (
    select
        channel,
        campaign_id,
        first_activity_date,
        last_activity_date,
        cast(cost_amount as decimal(28, 6)) as cost_amount,
        cast(spend_amount as decimal(28, 6)) as spend_amount,
        cast(message_cost_amount as decimal(28, 6)) as message_cost_amount,
        attributed_order_count,
        cast(attributed_net_revenue as decimal(28, 6)) as attributed_net_revenue,
        new_customer_count,
        cast(
            (attributed_net_revenue - cost_amount) / nullif(cost_amount, 0) as decimal(28, 6)
        ) as romi,
        cast(cost_amount / nullif(new_customer_count, 0) as decimal(28, 6)) as cpa
    from campaign_totals
)

select * from campaign_performance
