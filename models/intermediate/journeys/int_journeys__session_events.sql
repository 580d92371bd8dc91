{{ config(**incremental_rows_config(unique_key='event_id')) }}

-- depends_on: {{ ref('int_identity__record_customers') }}

{#
    Every web and app event with its visitor and session. The visitor is the
    customer of the event, else its anonymous id (else its user id when the
    event carries neither). Sessions are cut per visitor and channel (web or
    app, the channel the event happened on): an event opens a new session when
    it is the visitor's first on that channel or comes at least
    `session_timeout_minutes` (default 30) after the previous one.

    Built incrementally visitor by visitor (macros/incremental/incremental_rows.sql):
    a run cuts again the sessions of every visitor (and channel) with an event
    loaded since the last build, in the look-back window, or whose customer
    changed, as the visitor is now and as it was stored; the rest is kept.
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
        events.occurred_on,
        events._loaded_at,
        touchpoints.customer_assigned_at,
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

{% if is_incremental() %}
reassigned_events as (
    {{ reassigned_records(ref('int_identity__record_customers')) }}
),

-- events loaded since the last build, in the look-back window, or re-keyed
changed_events as (
    select event_id
    from events
    where
        _loaded_at >= {{ incremental_loaded_since() }}
        or occurred_on >= {{ incremental_window_start('occurred_on') }}

    union

    select record_id as event_id
    from reassigned_events
    where source_name = 'events'
),

-- their visitors now, and as stored (a visitor that lost an event is cut again too)
visitors_to_build as (
    select
        visitor_events.visitor_type,
        visitor_events.visitor_id,
        visitor_events.channel
    from visitor_events
    inner join changed_events
        on visitor_events.event_id = changed_events.event_id

    union

    select
        stored_events.visitor_type,
        stored_events.visitor_id,
        stored_events.channel
    from {{ this }} as stored_events
    inner join changed_events
        on stored_events.event_id = changed_events.event_id
),

-- every event that may be one of those visitors' (narrowed before the join below)
candidate_events as (
    select touchpoints.record_id as event_id
    from touchpoints
    inner join visitors_to_build
        on
            visitors_to_build.visitor_type = 'customer'
            and touchpoints.customer_id = visitors_to_build.visitor_id

    union

    select events.event_id
    from events
    inner join visitors_to_build
        on
            visitors_to_build.visitor_type = 'anonymous_id'
            and events.anonymous_id = visitors_to_build.visitor_id

    union

    select events.event_id
    from events
    inner join visitors_to_build
        on
            visitors_to_build.visitor_type = 'user_id'
            and events.user_id = visitors_to_build.visitor_id
),

events_to_build as (
    select visitor_events.*
    from visitor_events
    inner join candidate_events
        on visitor_events.event_id = candidate_events.event_id
    inner join visitors_to_build
        on
            visitor_events.visitor_type = visitors_to_build.visitor_type
            and visitor_events.visitor_id = visitors_to_build.visitor_id
            and visitor_events.channel = visitors_to_build.channel
),
{% else %}
events_to_build as (
    select * from visitor_events
),
{% endif %}

previous_events as (
    select
        *,
        lag(occurred_at) over (
            partition by visitor_type, visitor_id, channel
            order by occurred_at, event_id
        ) as previous_occurred_at
    from events_to_build
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
    order_id,
    customer_assigned_at,
    _loaded_at,
    occurred_on
from session_events
