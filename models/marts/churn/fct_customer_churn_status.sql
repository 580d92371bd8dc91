{#
    Rule-based churn status of every customer at the as-of date
    (int_customers__as_of): active when their latest activity (an order or an
    own action on any channel, int_kpis__customer_activity) is less than var
    `churn_inactivity_days` (default 90) days before it, churned when it is
    that many days or more; never_active when there was no activity at all. A
    churned customer churned on their last active day + the window.
#}
{%- set inactivity_days = var('churn_inactivity_days', 90) -%}

with

customer_segments as (
    select * from {{ ref('int_kpis__customer_segments') }}
),

customer_activity as (
    select * from {{ ref('int_kpis__customer_activity') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

activity_spans as (
    select
        customer_id,
        min(activity_date) as first_active_date,
        max(activity_date) as last_active_date,
        count(*) as active_day_count
    from customer_activity
    group by customer_id
),

customer_recency as (
    select
        customer_segments.customer_id,
        customer_segments.segment,
        activity_spans.first_active_date,
        activity_spans.last_active_date,
        coalesce(activity_spans.active_day_count, 0) as active_day_count,
        cast(as_of.as_of_at as date) as as_of_date,
        {{ dbt.datediff('activity_spans.last_active_date', 'cast(as_of.as_of_at as date)', 'day') }}
            as days_since_last_active
    from customer_segments
    cross join as_of
    left join activity_spans
        on customer_segments.customer_id = activity_spans.customer_id
),

churn_status as (
    select
        customer_id,
        segment,
        first_active_date,
        last_active_date,
        active_day_count,
        as_of_date,
        days_since_last_active,
        {{ inactivity_days }} as churn_inactivity_days,
        case
            when last_active_date is null then 'never_active'
            when days_since_last_active >= {{ inactivity_days }} then 'churned'
            else 'active'
        end as churn_status,
        case
            when last_active_date is not null
                then days_since_last_active >= {{ inactivity_days }}
        end as is_churned,
        case
            when days_since_last_active >= {{ inactivity_days }}
                then cast({{ dbt.dateadd('day', inactivity_days, 'last_active_date') }} as date)
        end as churned_on
    from customer_recency
)

select * from churn_status
