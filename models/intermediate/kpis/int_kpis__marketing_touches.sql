{#
    Every click-level marketing touch of a known customer, the candidates of
    last-touch attribution: a web or app event that arrived with campaign tags
    (UTM; channel from the tags, campaign = utm_campaign) and a message click
    reported by a messaging platform (the message's channel and campaign).
    Sends, deliveries and opens are not touches.
#}
with

events as (
    select * from {{ ref('stg_events') }}
    where campaign_channel is not null
),

message_events as (
    select * from {{ ref('stg_message_events') }}
    where event_type = 'clicked'
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
    where customer_id is not null
),

campaign_visits as (
    select
        'utm_visit' as touch_type,
        events.event_id as record_id,
        record_customers.customer_id,
        events.occurred_at as touched_at,
        events.campaign_channel as channel,
        events.campaign_name as campaign_id
    from events
    inner join record_customers
        on
            record_customers.source_name = 'events'
            and events.event_id = record_customers.record_id
),

message_clicks as (
    select
        'message_click' as touch_type,
        message_events.message_event_id as record_id,
        record_customers.customer_id,
        message_events.occurred_at as touched_at,
        message_events.channel,
        message_events.campaign_id
    from message_events
    inner join record_customers
        on
            record_customers.source_name = 'message_events'
            and message_events.message_event_id = record_customers.record_id
),

marketing_touches as (
    select * from campaign_visits
    union all
    select * from message_clicks
)

select * from marketing_touches
