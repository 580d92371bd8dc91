{#
    Monthly retention cohorts: customers grouped by the month of their first
    purchase (first completed order), and for every month since, how many of
    them made a purchase (a completed order) in it. Retention rate = 100 x
    active customers / cohort size. Month 0 is the cohort month itself (100%).
    Every month from the cohort month to the as-of month
    (int_customers__as_of), which may be partial.
#}
with

orders as (
    select * from {{ ref('int_kpis__orders') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

purchases as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as purchase_month,
        net_amount
    from orders
    where customer_id is not null and is_completed
),

first_purchases as (
    select
        customer_id,
        min(purchase_month) as cohort_month
    from purchases
    group by customer_id
),

cohorts as (
    select
        cohort_month,
        count(*) as cohort_size
    from first_purchases
    group by cohort_month
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

cohort_months as (
    select
        cohorts.cohort_month,
        cohorts.cohort_size,
        month_offsets.month_offset as months_since_first_purchase,
        cast(
            {{ dbt.dateadd('month', 'month_offsets.month_offset', 'cohorts.cohort_month') }}
            as date
        ) as activity_month,
        cast({{ dbt.date_trunc('month', 'as_of.as_of_at') }} as date) as as_of_month,
        cast(as_of.as_of_at as date) as as_of_date
    from cohorts
    cross join month_offsets
    cross join as_of
),

cohort_activity as (
    select
        first_purchases.cohort_month,
        purchases.purchase_month as activity_month,
        count(distinct purchases.customer_id) as active_customers,
        sum(purchases.net_amount) as net_revenue
    from purchases
    inner join first_purchases
        on purchases.customer_id = first_purchases.customer_id
    group by first_purchases.cohort_month, purchases.purchase_month
),

retention as (
    select
        cohort_months.cohort_month,
        cohort_months.activity_month,
        cohort_months.months_since_first_purchase,
        cohort_months.cohort_size,
        coalesce(cohort_activity.active_customers, 0) as active_customers,
        cast(
            100.0 * coalesce(cohort_activity.active_customers, 0) / cohort_months.cohort_size
            as decimal(28, 6)
        ) as retention_rate,
        cast(coalesce(cohort_activity.net_revenue, 0) as decimal(28, 6)) as net_revenue,
        cohort_months.activity_month = cohort_months.as_of_month
        and cohort_months.as_of_date < cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'cohort_months.activity_month')) }}
            as date
        ) as is_partial_month
    from cohort_months
    left join cohort_activity
        on
            cohort_months.cohort_month = cohort_activity.cohort_month
            and cohort_months.activity_month = cohort_activity.activity_month
    where cohort_months.activity_month <= cohort_months.as_of_month
)

select * from retention
