{#
    The business KPIs taken apart: one row per KPI and source record (an
    order, a day's cost of a channel and campaign, a message) with its date,
    channel, segment and what it adds to the KPI's numerator and denominator.
    fct_business_kpis sums them per period, channel and segment; every value
    is value_scale (seed kpi_catalog) x numerator / denominator.

    Orders (dated at the order, sales channel): AOV adds the net amount of a
    completed order over 1; return rate 1 for a returned order over every
    fulfilled (completed or returned) order; cancellation rate 1 for a
    cancelled order over every order.
    Marketing (segment null: costs are not split by segment): CPA adds a day's
    cost of a channel to the numerator and 1 per new customer (first completed
    order) to the denominator of the last-touch channel of that order
    ('unattributed' without a touch); ROMI adds the net amount of completed
    orders to the numerator of their last-touch channel, and a day's cost of a
    channel to the denominator and, negated, to the numerator.
    Messages (dated at sending, messaging channel, recipient's segment): the
    message's cost over 1 per message sent, and over 1 per message clicked.
#}
with

orders as (
    select * from {{ ref('int_kpis__orders') }}
),

marketing_costs as (
    select * from {{ ref('int_kpis__marketing_costs') }}
),

messages as (
    select * from {{ ref('int_kpis__messages') }}
),

order_facts as (
    select
        'aov' as kpi,
        'orders' as source_name,
        order_id as record_id,
        order_date as fact_date,
        channel,
        segment,
        net_amount as numerator,
        1 as denominator
    from orders
    where is_completed

    union all

    select
        'return_rate' as kpi,
        'orders' as source_name,
        order_id as record_id,
        order_date as fact_date,
        channel,
        segment,
        case when is_returned then 1 else 0 end as numerator,
        1 as denominator
    from orders
    where is_completed or is_returned

    union all

    select
        'cancellation_rate' as kpi,
        'orders' as source_name,
        order_id as record_id,
        order_date as fact_date,
        channel,
        segment,
        case when is_cancelled then 1 else 0 end as numerator,
        1 as denominator
    from orders
),

acquisition_facts as (
    select
        'cpa' as kpi,
        'orders' as source_name,
        order_id as record_id,
        order_date as fact_date,
        coalesce(attributed_channel, 'unattributed') as channel,
        cast(null as {{ dbt.type_string() }}) as segment,
        0 as numerator,
        1 as denominator
    from orders
    where is_first_purchase

    union all

    select
        'cpa' as kpi,
        'marketing_costs' as source_name,
        cost_id as record_id,
        cost_date as fact_date,
        channel,
        cast(null as {{ dbt.type_string() }}) as segment,
        cost_amount as numerator,
        0 as denominator
    from marketing_costs
),

return_facts as (
    select
        'romi' as kpi,
        'orders' as source_name,
        order_id as record_id,
        order_date as fact_date,
        attributed_channel as channel,
        cast(null as {{ dbt.type_string() }}) as segment,
        net_amount as numerator,
        0 as denominator
    from orders
    where is_completed and attributed_channel is not null

    union all

    select
        'romi' as kpi,
        'marketing_costs' as source_name,
        cost_id as record_id,
        cost_date as fact_date,
        channel,
        cast(null as {{ dbt.type_string() }}) as segment,
        -cost_amount as numerator,
        cost_amount as denominator
    from marketing_costs
),

message_facts as (
    select
        'cost_per_message_sent' as kpi,
        'message_events' as source_name,
        message_id as record_id,
        cast(sent_at as date) as fact_date,
        channel,
        segment,
        message_cost_amount as numerator,
        case when is_sent then 1 else 0 end as denominator
    from messages

    union all

    select
        'cost_per_click' as kpi,
        'message_events' as source_name,
        message_id as record_id,
        cast(sent_at as date) as fact_date,
        channel,
        segment,
        message_cost_amount as numerator,
        case when is_clicked then 1 else 0 end as denominator
    from messages
),

facts as (
    select * from order_facts
    union all
    select * from acquisition_facts
    union all
    select * from return_facts
    union all
    select * from message_facts
),

typed_facts as (
    select
        kpi,
        source_name,
        record_id,
        fact_date,
        channel,
        segment,
        cast(numerator as decimal(28, 6)) as numerator,
        cast(denominator as decimal(28, 6)) as denominator
    from facts
)

select * from typed_facts
