{#
    RFM scores of every customer with at least one completed order.

    - recency: days since the last completed order (fewer is better),
    - frequency: number of completed orders,
    - monetary: net revenue in the reporting currency.

    Each is scored 1 (worst) to 5 (best) by quintile, `ntile(5)` over the
    customers ordered from worst to best (customer id breaks ties, so a rebuild
    scores alike). Customers with equal values would then straddle quintiles:
    they all take the lowest score any of them reached, so equal values always
    score equally. The segment is the first rule of seed rfm_segments (by
    rule_order) whose score ranges hold the customer's three scores.
#}
with

order_summary as (
    select * from {{ ref('int_customers__order_summary') }}
    where completed_order_count > 0
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

rfm_values as (
    select
        customer_id,
        days_since_last_completed_order as recency_days,
        completed_order_count as frequency,
        net_revenue as monetary
    from order_summary
),

rfm_quintiles as (
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        ntile(5) over (order by recency_days desc, customer_id asc) as recency_quintile,
        ntile(5) over (order by frequency asc, customer_id asc) as frequency_quintile,
        ntile(5) over (order by monetary asc, customer_id asc) as monetary_quintile
    from rfm_values
),

rfm_scores as (
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        min(recency_quintile) over (partition by recency_days) as recency_score,
        min(frequency_quintile) over (partition by frequency) as frequency_score,
        min(monetary_quintile) over (partition by monetary) as monetary_score
    from rfm_quintiles
),

segment_matches as (
    select
        rfm_scores.customer_id,
        rfm_segments.rfm_segment,
        row_number() over (
            partition by rfm_scores.customer_id
            order by rfm_segments.rule_order
        ) as match_rank
    from rfm_scores
    inner join rfm_segments
        on
            rfm_scores.recency_score
            between rfm_segments.recency_score_min and rfm_segments.recency_score_max
            and rfm_scores.frequency_score
            between rfm_segments.frequency_score_min and rfm_segments.frequency_score_max
            and rfm_scores.monetary_score
            between rfm_segments.monetary_score_min and rfm_segments.monetary_score_max
),

customer_rfm as (
    select
        rfm_scores.customer_id,
        rfm_scores.recency_days,
        rfm_scores.frequency,
        rfm_scores.monetary,
        rfm_scores.recency_score,
        rfm_scores.frequency_score,
        rfm_scores.monetary_score,
        {{ dbt.concat([
            dbt.cast('rfm_scores.recency_score', dbt.type_string()),
            dbt.cast('rfm_scores.frequency_score', dbt.type_string()),
            dbt.cast('rfm_scores.monetary_score', dbt.type_string()),
        ]) }} as rfm_cell,
        segment_matches.rfm_segment
    from rfm_scores
    left join segment_matches
        on
            rfm_scores.customer_id = segment_matches.customer_id
            and segment_matches.match_rank = 1
)

select * from customer_rfm
