{#
    Every web and app event with its visitor and session. The visitor is the
    customer of the event, else its anonymous id (else its user id when the
    event carries neither). Sessions are cut per visitor and channel (web or
    app, the channel the event happened on): an event opens a new session when
    it is the visitor's first on that channel or comes at least
    `session_timeout_minutes` (default 30) after the previous one.
#}
{%- set session_timeout_ms = var('session_timeout_minutes', 30) * 60 * 1000 -%}

with

events as (
    select * from {{ ref('stg_events') }}
),

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
    where source_name = 'events'
),

visitor_events as (
    select
        events.event_id,
        touchpoints.customer_id,
        events.anonymous_id,
        events.user_id,
        events.touch_channel as channel,
        touchpoints.touch_type,
        events.occurred_at,
        events.device_type,
        events.page_url,
        events.referrer,
        events.campaign_source,
        events.campaign_medium,
        events.campaign_name,
        events.campaign_channel,
        events.order_id,
        case
            when touchpoints.customer_id is not null then 'customer'
            when events.anonymous_id is not null then 'anonymous_id'
            else 'user_id'
        end as visitor_type,
        coalesce(touchpoints.customer_id, events.anonymous_id, events.user_id) as visitor_id
    from events
    inner join touchpoints
        on events.event_id = touchpoints.record_id
),

previous_events as (
    select
        *,
        lag(occurred_at) over (
            partition by visitor_type, visitor_id, channel
            order by occurred_at, event_id
        ) as previous_occurred_at
    from visitor_events
),

gaps as (
    select
        *,
        {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'millisecond') }}
            as ms_since_previous_event
    from previous_events
),

session_starts as (
    select
        *,
        case
            when ms_since_previous_event is null then 1
            when ms_since_previous_event >= {{ session_timeout_ms }} then 1
            else 0
        end as is_session_start
    from gaps
),

numbered_sessions as (
    select
        *,
        sum(is_session_start) over (
            partition by visitor_type, visitor_id, channel
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from session_starts
),

session_events as (
    select
        *,
        row_number() over (
            partition by visitor_type, visitor_id, channel, session_number
            order by occurred_at, event_id
        ) as event_number,
        first_value(event_id) over (
            partition by visitor_type, visitor_id, channel, session_number
            order by occurred_at, event_id
            rows between unbounded preceding and unbounded following
        ) as first_event_id
    from numbered_sessions
)

select
    {{ generate_surrogate_key(['first_event_id']) }} as session_id,
    event_id,
    visitor_type,
    visitor_id,
    customer_id,
    anonymous_id,
    user_id,
    channel,
    session_number,
    event_number,
    is_session_start = 1 as is_session_start,
    ms_since_previous_event,
    touch_type,
    occurred_at,
    device_type,
    page_url,
    referrer,
    campaign_source,
    campaign_medium,
    campaign_name,
    campaign_channel,
    order_id
from session_events
