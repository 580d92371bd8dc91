{#
    Every KPI in one tidy table for the dashboard and the alerts: one row per
    period grain (day, week, month), period start, channel, segment and KPI, with
    numerator, denominator and value. 'all' in channel or segment is the total
    over that dimension. Percentages are 0-100 (as in seed kpi_catalog).
    Sources: experience and business KPIs (their own grains), rule-based churn
    (month, by segment), and the cross-channel metrics of journeys (month, all
    channels and segments).
#}
with

experience_kpis as (
    select * from {{ ref('fct_experience_kpis') }}
),

business_kpis as (
    select * from {{ ref('fct_business_kpis') }}
),

churn_monthly as (
    select * from {{ ref('fct_churn_monthly') }}
),

cross_channel_metrics as (
    select * from {{ ref('fct_cross_channel_metrics') }}
),

experience_and_business as (
    select
        period_grain,
        period_start,
        channel,
        segment,
        kpi,
        numerator,
        denominator,
        value as kpi_value
    from experience_kpis
    union all
    select
        period_grain,
        period_start,
        channel,
        segment,
        kpi,
        numerator,
        denominator,
        value as kpi_value
    from business_kpis
),

churn_kpis as (
    select
        'month' as period_grain,
        month_start as period_start,
        'all' as channel,
        segment,
        'churn_rate' as kpi,
        cast(churned_customers as decimal(28, 6)) as numerator,
        cast(customers_active_at_start as decimal(28, 6)) as denominator,
        churn_rate as kpi_value
    from churn_monthly
),

cross_channel_kpis as (
    select
        'month' as period_grain,
        month_start as period_start,
        'all' as channel,
        'all' as segment,
        'cross_channel_conversion_rate' as kpi,
        cast(cross_channel_conversions as decimal(28, 6)) as numerator,
        cast(conversions as decimal(28, 6)) as denominator,
        cast(100 * cross_channel_conversion_rate as decimal(28, 6)) as kpi_value
    from cross_channel_metrics
    union all
    select
        'month' as period_grain,
        month_start as period_start,
        'all' as channel,
        'all' as segment,
        'channel_switching_rate' as kpi,
        cast(channel_switches as decimal(28, 6)) as numerator,
        cast(touch_transitions as decimal(28, 6)) as denominator,
        cast(100 * channel_switching_rate as decimal(28, 6)) as kpi_value
    from cross_channel_metrics
),

all_kpis as (
    select * from experience_and_business
    union all
    select * from churn_kpis
    union all
    select * from cross_channel_kpis
)

select
    period_grain,
    cast(period_start as date) as period_start,
    channel,
    segment,
    kpi,
    numerator,
    denominator,
    kpi_value
from all_kpis
