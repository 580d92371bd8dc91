{#
    The purchase history of every customer with a completed order placed up to
    int_customers__as_of, summarized for the lifetime models (BG/NBD and
    Gamma-Gamma; docs/metrics.md).

    A purchase is a day with a completed order: the completed orders of one
    customer on one date are one purchase, worth the sum of their net amounts
    (reporting currency). Cancelled and returned orders are no purchase.

    - repeat_frequency (x): purchase days after the first;
    - recency (t_x): from the first to the last purchase day;
    - age (T): from the first purchase day to the date of as_of_at;
    - average repeat-purchase value (m_x): the value of the purchase days
      after the first, divided by x; null when x = 0.

    Days are calendar days (UTC); weeks are days / 7.
#}
with

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null and is_completed
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

purchase_days as (
    select
        orders.customer_id,
        orders.order_date as purchase_date,
        max(orders.reporting_currency) as value_currency,
        count(*) as order_count,
        sum(orders.net_amount) as purchase_value
    from orders
    cross join as_of
    where orders.ordered_at <= as_of.as_of_at
    group by orders.customer_id, orders.order_date
),

numbered_purchase_days as (
    select
        customer_id,
        purchase_date,
        value_currency,
        order_count,
        purchase_value,
        row_number() over (
            partition by customer_id
            order by purchase_date asc
        ) as purchase_day_number
    from purchase_days
),

customer_purchases as (
    select
        customer_id,
        max(value_currency) as value_currency,
        sum(order_count) as completed_order_count,
        count(*) as purchase_day_count,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        sum(
            case when purchase_day_number = 1 then purchase_value end
        ) as first_purchase_value,
        sum(
            case when purchase_day_number > 1 then purchase_value end
        ) as repeat_purchase_value
    from numbered_purchase_days
    group by customer_id
),

customer_days as (
    select
        customer_purchases.customer_id,
        as_of.as_of_at,
        customer_purchases.value_currency,
        customer_purchases.completed_order_count,
        customer_purchases.purchase_day_count,
        customer_purchases.purchase_day_count - 1 as repeat_frequency,
        customer_purchases.first_purchase_date,
        customer_purchases.last_purchase_date,
        {{ dbt.datediff(
            'customer_purchases.first_purchase_date',
            'customer_purchases.last_purchase_date',
            'day',
        ) }} as recency_days,
        {{ dbt.datediff(
            'customer_purchases.first_purchase_date',
            'cast(as_of.as_of_at as date)',
            'day',
        ) }} as age_days,
        customer_purchases.first_purchase_value,
        customer_purchases.repeat_purchase_value
    from customer_purchases
    cross join as_of
),

purchase_history as (
    select
        customer_id,
        as_of_at,
        first_purchase_date,
        last_purchase_date,
        completed_order_count,
        purchase_day_count,
        repeat_frequency,
        recency_days,
        age_days,
        value_currency,
        first_purchase_value,
        cast(cast(recency_days as decimal(18, 6)) / 7 as decimal(18, 6)) as recency_weeks,
        cast(cast(age_days as decimal(18, 6)) / 7 as decimal(18, 6)) as age_weeks,
        cast(
            repeat_purchase_value / nullif(repeat_frequency, 0) as decimal(18, 2)
        ) as average_repeat_purchase_value
    from customer_days
)

select * from purchase_history
