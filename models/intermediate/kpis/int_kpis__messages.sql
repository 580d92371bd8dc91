{#
    One row per message a messaging platform reported on: its channel,
    campaign and recipient customer, when it was sent (the sent report, else
    its first report), whether it was sent and clicked, and what it cost (the
    costs of its reports, on sending or on delivery depending on the platform,
    converted from var `message_cost_currency`, default UAH, with seed
    currency_rates). A report without a message id is a message of its own.
#}
{%- set message_cost_currency = var('message_cost_currency', 'UAH') -%}

with

message_events as (
    select * from {{ ref('stg_message_events') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'message_events'
),

customer_segments as (
    select * from {{ ref('int_kpis__customer_segments') }}
),

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

reports as (
    select
        message_events.channel,
        message_events.campaign_id,
        message_events.event_type,
        message_events.occurred_at,
        message_events.message_cost,
        record_customers.customer_id,
        coalesce(message_events.message_id, message_events.message_event_id) as message_id
    from message_events
    left join record_customers
        on message_events.message_event_id = record_customers.record_id
),

message_reports as (
    select
        message_id,
        max(channel) as channel,
        max(campaign_id) as campaign_id,
        max(customer_id) as customer_id,
        min(case when event_type = 'sent' then occurred_at end) as sent_report_at,
        min(occurred_at) as first_report_at,
        max(case when event_type = 'sent' then 1 else 0 end) as sent_flag,
        max(case when event_type = 'clicked' then 1 else 0 end) as clicked_flag,
        coalesce(sum(message_cost), 0) as message_cost
    from reports
    group by message_id
),

messages as (
    select
        message_reports.message_id,
        message_reports.channel,
        message_reports.campaign_id,
        message_reports.customer_id,
        cast(
            message_reports.message_cost * currency_rates.rate_to_reporting_currency
            as decimal(28, 6)
        ) as message_cost_amount,
        coalesce(customer_segments.segment, 'unsegmented') as segment,
        coalesce(message_reports.sent_report_at, message_reports.first_report_at) as sent_at,
        message_reports.sent_flag = 1 as is_sent,
        message_reports.clicked_flag = 1 as is_clicked
    from message_reports
    left join currency_rates
        on currency_rates.currency = '{{ message_cost_currency }}'
    left join customer_segments
        on message_reports.customer_id = customer_segments.customer_id
)

select * from messages
