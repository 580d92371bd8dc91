{#
    How many messages every customer was sent lately, for the frequency cap:
    distinct messages with a `sent` report in the var
    `audience_frequency_cap_days` (default 7) days up to int_customers__as_of,
    on any channel and of any campaign. Customers sent nothing have no row.
#}
{%- set cap_days = var('audience_frequency_cap_days', 7) -%}

with

message_events as (
    select * from {{ ref('stg_message_events') }}
    where event_type = 'sent'
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where source_name = 'message_events' and customer_id is not null
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

recent_sends as (
    select
        record_customers.customer_id,
        message_events.message_id,
        message_events.occurred_at
    from message_events
    inner join record_customers
        on message_events.message_event_id = record_customers.record_id
    cross join as_of
    where
        message_events.occurred_at > {{ dbt.dateadd('day', -cap_days, 'as_of.as_of_at') }}
        and message_events.occurred_at <= as_of.as_of_at
)

select
    customer_id,
    count(distinct message_id) as messages_sent_count,
    max(occurred_at) as last_message_sent_at
from recent_sends
group by customer_id
