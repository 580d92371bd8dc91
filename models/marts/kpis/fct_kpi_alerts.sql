{#
    The KPI alerts of the latest complete month (all channels, all segments):
    one row per target of seed kpi_targets (the KPI is worse than its alert
    threshold) and per trend rule of seed kpi_alert_rules (one KPI rose while
    another fell against the month before), with the corrective action to take.
#}
with

kpis as (
    select * from {{ ref('fct_kpis') }}
),

kpi_targets as (
    select * from {{ ref('kpi_targets') }}
),

kpi_alert_rules as (
    select * from {{ ref('kpi_alert_rules') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

monthly_totals as (
    select
        kpi,
        period_start,
        kpi_value
    from kpis
    where period_grain = 'month' and channel = 'all' and segment = 'all'
),

complete_months as (
    select max(monthly_totals.period_start) as latest_month_start
    from monthly_totals
    cross join as_of
    where
        {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'monthly_totals.period_start')) }}
        <= cast(as_of.as_of_at as date)
),

latest_values as (
    select
        monthly_totals.kpi,
        monthly_totals.period_start,
        monthly_totals.kpi_value
    from monthly_totals
    inner join complete_months
        on monthly_totals.period_start = complete_months.latest_month_start
),

previous_values as (
    select
        monthly_totals.kpi,
        monthly_totals.kpi_value
    from monthly_totals
    inner join complete_months
        on
            monthly_totals.period_start
            = {{ dbt.dateadd('month', -1, 'complete_months.latest_month_start') }}
),

threshold_alerts as (
    select
        'threshold' as alert_type,
        kpi_targets.kpi as alert_name,
        latest_values.period_start,
        kpi_targets.kpi,
        latest_values.kpi_value,
        previous_values.kpi_value as previous_kpi_value,
        kpi_targets.alert_threshold,
        kpi_targets.kpi || ' ' || {{ kpi_number('latest_values.kpi_value') }}
        || ' against an alert threshold of ' || {{ kpi_number('kpi_targets.alert_threshold') }}
        || ' (' || kpi_targets.better || ' is better)' as detail,
        coalesce(
            case
                when kpi_targets.better = 'higher'
                    then latest_values.kpi_value < kpi_targets.alert_threshold
                else latest_values.kpi_value > kpi_targets.alert_threshold
            end,
            false
        ) as is_breached,
        kpi_targets.corrective_action
    from kpi_targets
    left join latest_values on kpi_targets.kpi = latest_values.kpi
    left join previous_values on kpi_targets.kpi = previous_values.kpi
),

trend_alerts as (
    select
        'trend' as alert_type,
        kpi_alert_rules.rule_id as alert_name,
        rising_latest.period_start,
        kpi_alert_rules.rising_kpi || ' up, ' || kpi_alert_rules.falling_kpi || ' down' as kpi,
        rising_latest.kpi_value,
        rising_previous.kpi_value as previous_kpi_value,
        cast(null as {{ dbt.type_float() }}) as alert_threshold,
        kpi_alert_rules.rising_kpi || ' ' || {{ kpi_number('rising_previous.kpi_value') }}
        || ' to ' || {{ kpi_number('rising_latest.kpi_value') }} || ', '
        || kpi_alert_rules.falling_kpi || ' ' || {{ kpi_number('falling_previous.kpi_value') }}
        || ' to ' || {{ kpi_number('falling_latest.kpi_value') }} as detail,
        coalesce(
            rising_latest.kpi_value > rising_previous.kpi_value
            and falling_latest.kpi_value < falling_previous.kpi_value,
            false
        ) as is_breached,
        kpi_alert_rules.corrective_action
    from kpi_alert_rules
    left join latest_values as rising_latest
        on kpi_alert_rules.rising_kpi = rising_latest.kpi
    left join previous_values as rising_previous
        on kpi_alert_rules.rising_kpi = rising_previous.kpi
    left join latest_values as falling_latest
        on kpi_alert_rules.falling_kpi = falling_latest.kpi
    left join previous_values as falling_previous
        on kpi_alert_rules.falling_kpi = falling_previous.kpi
),

alerts as (
    select * from threshold_alerts
    union all
    select * from trend_alerts
)

select
    alert_type,
    alert_name,
    period_start,
    kpi,
    kpi_value,
    previous_kpi_value,
    alert_threshold,
    detail,
    is_breached,
    corrective_action
from alerts
