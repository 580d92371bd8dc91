{#
    Rule-based churn per month and segment. A customer is active on a day when
    their latest activity on or before it (an order or an own action on any
    channel, int_kpis__customer_activity) is less than var
    `churn_inactivity_days` (default 90) days before it. Each month is measured
    on its last day (the as-of date for the current, partial month). Churned in
    a month: active at the end of the previous month and not at the end of this
    one. Churn rate = 100 x churned / active at the end of the previous month.
    Active at end = active at start - churned + new (first activity this
    month, still active at its end) + reactivated (active again after a
    churn). Segment: the customer's current RFM segment; 'all' sums every
    segment. Months: every month from the first activity in the data to the
    as-of month.
#}
{%- set inactivity_days = var('churn_inactivity_days', 90) -%}

with

customer_activity as (
    select * from {{ ref('int_kpis__customer_activity') }}
),

customer_segments as (
    select * from {{ ref('int_kpis__customer_segments') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

monthly_activity as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month_start,
        max(activity_date) as last_active_date_in_month
    from customer_activity
    group by customer_id, cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
),

-- month offsets 0-999 (cross-database, no series generator needed)
digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

month_offsets as (
    select hundreds.digit * 100 + tens.digit * 10 + ones.digit as month_offset
    from digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

activity_bounds as (
    select
        min(monthly_activity.month_start) as first_month,
        cast({{ dbt.date_trunc('month', 'as_of.as_of_at') }} as date) as as_of_month_start,
        cast(as_of.as_of_at as date) as as_of_date
    from monthly_activity
    cross join as_of
    group by as_of.as_of_at
),

calendar_months as (
    select
        cast(
            {{ dbt.dateadd('month', 'month_offsets.month_offset', 'activity_bounds.first_month') }}
            as date
        ) as month_start,
        activity_bounds.as_of_month_start,
        activity_bounds.as_of_date
    from activity_bounds
    cross join month_offsets
),

months as (
    select
        month_start,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date
        ) as month_end,
        case
            when month_start = as_of_month_start then as_of_date
            else cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'month_start')) }} as date)
        end as measured_on
    from calendar_months
    where month_start <= as_of_month_start
),

first_active_months as (
    select
        customer_id,
        min(month_start) as first_active_month
    from monthly_activity
    group by customer_id
),

customer_months as (
    select
        first_active_months.customer_id,
        months.month_start,
        months.month_end,
        months.measured_on,
        months.month_start = first_active_months.first_active_month as is_first_active_month,
        max(monthly_activity.last_active_date_in_month) over (
            partition by first_active_months.customer_id
            order by months.month_start
            rows between unbounded preceding and current row
        ) as last_active_date
    from first_active_months
    inner join months
        on first_active_months.first_active_month <= months.month_start
    left join monthly_activity
        on
            first_active_months.customer_id = monthly_activity.customer_id
            and months.month_start = monthly_activity.month_start
),

customer_month_states as (
    select
        customer_id,
        month_start,
        month_end,
        measured_on,
        is_first_active_month,
        {{ dbt.datediff('last_active_date', 'measured_on', 'day') }}
        < {{ inactivity_days }} as is_active_at_end
    from customer_months
),

customer_month_changes as (
    select
        *,
        coalesce(
            lag(is_active_at_end) over (
                partition by customer_id
                order by month_start
            ),
            false
        ) as is_active_at_start
    from customer_month_states
),

segmented_changes as (
    select
        customer_month_changes.month_start,
        customer_month_changes.month_end,
        customer_month_changes.measured_on,
        coalesce(customer_segments.segment, 'unsegmented') as segment,
        case when customer_month_changes.is_active_at_start then 1 else 0 end
            as active_at_start,
        case
            when
                customer_month_changes.is_active_at_start
                and not customer_month_changes.is_active_at_end
                then 1
            else 0
        end as churned,
        case
            when
                customer_month_changes.is_first_active_month
                and customer_month_changes.is_active_at_end
                then 1
            else 0
        end as newly_active,
        case
            when
                not customer_month_changes.is_active_at_start
                and not customer_month_changes.is_first_active_month
                and customer_month_changes.is_active_at_end
                then 1
            else 0
        end as reactivated,
        case when customer_month_changes.is_active_at_end then 1 else 0 end as active_at_end
    from customer_month_changes
    left join customer_segments
        on customer_month_changes.customer_id = customer_segments.customer_id
),

segment_months as (
    select
        month_start,
        month_end,
        measured_on,
        segment,
        sum(active_at_start) as customers_active_at_start,
        sum(churned) as churned_customers,
        sum(newly_active) as new_active_customers,
        sum(reactivated) as reactivated_customers,
        sum(active_at_end) as customers_active_at_end
    from segmented_changes
    group by month_start, month_end, measured_on, segment

    union all

    select
        month_start,
        month_end,
        measured_on,
        'all' as segment,
        sum(active_at_start) as customers_active_at_start,
        sum(churned) as churned_customers,
        sum(newly_active) as new_active_customers,
        sum(reactivated) as reactivated_customers,
        sum(active_at_end) as customers_active_at_end
    from segmented_changes
    group by month_start, month_end, measured_on
),

churn_monthly as (
    select
        month_start,
        segment,
        measured_on,
        measured_on < month_end as is_partial_month,
        {{ inactivity_days }} as churn_inactivity_days,
        customers_active_at_start,
        churned_customers,
        new_active_customers,
        reactivated_customers,
        customers_active_at_end,
        cast(
            100.0 * churned_customers / nullif(customers_active_at_start, 0) as decimal(28, 6)
        ) as churn_rate
    from segment_months
)

select * from churn_monthly
