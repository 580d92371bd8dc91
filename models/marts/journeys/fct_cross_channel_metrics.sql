{#
    Cross-channel KPIs by month. Conversion figures count the conversions of
    the month (fct_journeys, by converted_at); customer figures describe every
    customer who had ordered by the end of the month, split into multichannel
    and single-channel customers (int_journeys__customer_months). Revenue per
    converting channel: one column per channel of `journey_revenue_channels`,
    the rest in other_channels_revenue.
#}
{%- set revenue_channels = var(
    'journey_revenue_channels', ['web', 'app', 'store', 'marketplace', 'call_center']
) -%}

with

journeys as (
    select * from {{ ref('fct_journeys') }}
),

customer_months as (
    select * from {{ ref('int_journeys__customer_months') }}
),

monthly_conversions as (
    select
        cast({{ dbt.date_trunc('month', 'converted_at') }} as date) as month_start,
        count(*) as conversions,
        sum(revenue) as revenue,
        sum(case when is_cross_channel then 1 else 0 end) as cross_channel_conversions,
        sum(case when is_completed_in_other_channel then 1 else 0 end)
            as other_channel_conversions,
        sum(touches_count - 1) as touch_transitions,
        sum(channel_switches_count) as channel_switches,
        {%- for channel in revenue_channels %}
        sum(case when converting_channel = '{{ channel }}' then revenue else 0 end)
            as {{ channel }}_revenue,
        {%- endfor %}
        sum(
            case
                when converting_channel in (
                    {%- for channel in revenue_channels %}
                    '{{ channel }}'{% if not loop.last %},{% endif %}
                    {%- endfor %}
                ) then 0
                else revenue
            end
        ) as other_channels_revenue
    from journeys
    group by cast({{ dbt.date_trunc('month', 'converted_at') }} as date)
),

monthly_customers as (
    select
        month_start,
        sum(case when is_multichannel then 1 else 0 end) as multichannel_customers,
        sum(case when is_multichannel and orders_count >= 2 then 1 else 0 end)
            as multichannel_repeat_customers,
        sum(case when is_multichannel then net_revenue else 0 end) as multichannel_net_revenue,
        sum(case when is_multichannel then completed_orders_count else 0 end)
            as multichannel_completed_orders,
        sum(case when is_multichannel then 0 else 1 end) as single_channel_customers,
        sum(case when not is_multichannel and orders_count >= 2 then 1 else 0 end)
            as single_channel_repeat_customers,
        sum(case when is_multichannel then 0 else net_revenue end)
            as single_channel_net_revenue,
        sum(case when is_multichannel then 0 else completed_orders_count end)
            as single_channel_completed_orders
    from customer_months
    group by month_start
),

customer_rates as (
    select
        month_start,
        multichannel_customers,
        single_channel_customers,
        cast(multichannel_repeat_customers as double)
        / nullif(multichannel_customers, 0) as multichannel_repeat_purchase_rate,
        cast(single_channel_repeat_customers as double)
        / nullif(single_channel_customers, 0) as single_channel_repeat_purchase_rate,
        cast(multichannel_net_revenue as double)
        / nullif(multichannel_customers, 0) as multichannel_clv,
        cast(single_channel_net_revenue as double)
        / nullif(single_channel_customers, 0) as single_channel_clv,
        cast(multichannel_net_revenue as double)
        / nullif(multichannel_completed_orders, 0) as multichannel_aov,
        cast(single_channel_net_revenue as double)
        / nullif(single_channel_completed_orders, 0) as single_channel_aov
    from monthly_customers
),

metrics as (
    select
        monthly_conversions.month_start,
        monthly_conversions.conversions,
        monthly_conversions.revenue,
        monthly_conversions.cross_channel_conversions,
        cast(monthly_conversions.cross_channel_conversions as double)
        / monthly_conversions.conversions as cross_channel_conversion_rate,
        monthly_conversions.other_channel_conversions,
        cast(monthly_conversions.other_channel_conversions as double)
        / monthly_conversions.conversions as other_channel_conversion_rate,
        monthly_conversions.touch_transitions,
        monthly_conversions.channel_switches,
        cast(monthly_conversions.channel_switches as double)
        / nullif(monthly_conversions.touch_transitions, 0) as channel_switching_rate,
        {%- for channel in revenue_channels %}
        monthly_conversions.{{ channel }}_revenue,
        {%- endfor %}
        monthly_conversions.other_channels_revenue,
        customer_rates.multichannel_customers,
        customer_rates.single_channel_customers,
        customer_rates.multichannel_repeat_purchase_rate,
        customer_rates.single_channel_repeat_purchase_rate,
        customer_rates.multichannel_repeat_purchase_rate
        / nullif(customer_rates.single_channel_repeat_purchase_rate, 0)
            as repeat_purchase_rate_ratio,
        customer_rates.multichannel_clv,
        customer_rates.single_channel_clv,
        customer_rates.multichannel_clv / nullif(customer_rates.single_channel_clv, 0)
            as clv_ratio,
        customer_rates.multichannel_aov,
        customer_rates.single_channel_aov,
        customer_rates.multichannel_aov / nullif(customer_rates.single_channel_aov, 0)
            as aov_ratio
    from monthly_conversions
    left join customer_rates
        on monthly_conversions.month_start = customer_rates.month_start
)

select * from metrics
