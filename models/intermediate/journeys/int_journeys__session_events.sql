{{ config(**incremental_rows_config(unique_key='event_id')) }}

-- depends_on: {{ ref('int_identity__record_customers') }}

{#
    Every web and app event with its visitor and session. The visitor is the
    customer of the event, else its anonymous id (else its user id when the
    event carries neither). Sessions are cut per visitor and channel (web or
    app, the channel the event happened on): an event opens a new session when
    it is the visitor's first on that channel or comes at least
    `session_timeout_minutes` (default 30) after the previous one.

    Built incrementally visitor by visitor (macros/incremental/incremental_rows.sql).
    A visitor (and channel) is changed when one of its events was loaded since
    the last build, lies in the look-back window, or changed customer (the
    visitor as it is now and as it was stored). An event's session depends only
    on the events before it, so a run keeps every stored event before the
    visitor's earliest change, and cuts again from the first event of the last
    session it keeps (a new event may still join it), numbering on from the
    stored session and starting from the stored gap of that first event.
#}
{#-
    The import CTEs are read where they are used, not copied (an incremental run
    reads the events in five places); the small batch CTEs of an incremental
    run are stored once (macros/cross_db/cte_materialization.sql). An
    incremental run joins only the events it needs to their visitor, filtering
    both sides before the join (macros/journeys/session_visitor_events.sql).
-#}
{%- set session_timeout_ms = var('session_timeout_minutes', 30) * 60 * 1000 -%}

with

events as {{ cte_materialization(false) }} (
    select * from {{ ref('stg_events') }}
),

touchpoints as {{ cte_materialization(false) }} (
    select * from {{ ref('int_customers__touchpoints') }}
    where source_name = 'events'
),

{% if is_incremental() %}
reassigned_events as {{ cte_materialization(true) }} (
    {{ reassigned_records(ref('int_identity__record_customers')) }}
),

-- events loaded since the last build, in the look-back window, or re-keyed
changed_events as {{ cte_materialization(true) }} (
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

-- the changed events with their visitor as it is now
changed_visitor_events as (
    {{ session_visitor_events('events', 'touchpoints', 'changed_events') }}
),

-- where each changed event stands now, and where it stood as stored
changed_positions as (
    select
        changed_visitor_events.visitor_type,
        changed_visitor_events.visitor_id,
        changed_visitor_events.channel,
        changed_visitor_events.occurred_at
    from changed_visitor_events

    union all

    select
        stored_events.visitor_type,
        stored_events.visitor_id,
        stored_events.channel,
        stored_events.occurred_at
    from {{ this }} as stored_events
    inner join changed_events
        on stored_events.event_id = changed_events.event_id
),

-- each visitor's (and channel's) earliest change: every stored event before it keeps its session
first_changes as (
    select
        visitor_type,
        visitor_id,
        channel,
        min(occurred_at) as first_changed_at
    from changed_positions
    group by visitor_type, visitor_id, channel
),

-- the stored session of the last event kept, which a new event may still join
resumed_sessions as (
    select
        first_changes.visitor_type,
        first_changes.visitor_id,
        first_changes.channel,
        max(stored_events.session_number) as session_number
    from first_changes
    inner join {{ this }} as stored_events
        on
            first_changes.visitor_type = stored_events.visitor_type
            and first_changes.visitor_id = stored_events.visitor_id
            and first_changes.channel = stored_events.channel
            and stored_events.occurred_at < first_changes.first_changed_at
    group by first_changes.visitor_type, first_changes.visitor_id, first_changes.channel
),

-- where each visitor's sessions are cut again: from the first event of the resumed session,
-- numbering on after the sessions before it and with its stored gap; from the first event
-- when none is kept
rebuild_starts as {{ cte_materialization(true) }} (
    select
        first_changes.visitor_type,
        first_changes.visitor_id,
        first_changes.channel,
        session_starts.occurred_at as rebuild_from,
        coalesce(resumed_sessions.session_number - 1, 0) as sessions_kept,
        session_starts.ms_since_previous_event as ms_before_rebuild
    from first_changes
    left join resumed_sessions
        on
            first_changes.visitor_type = resumed_sessions.visitor_type
            and first_changes.visitor_id = resumed_sessions.visitor_id
            and first_changes.channel = resumed_sessions.channel
    left join {{ this }} as session_starts
        on
            resumed_sessions.visitor_type = session_starts.visitor_type
            and resumed_sessions.visitor_id = session_starts.visitor_id
            and resumed_sessions.channel = session_starts.channel
            and resumed_sessions.session_number = session_starts.session_number
            and session_starts.is_session_start
),

-- every event that may be cut again (narrowed by visitor and time before the join below)
candidate_events as {{ cte_materialization(true) }} (
    select touchpoints.record_id as event_id
    from touchpoints
    inner join rebuild_starts
        on
            rebuild_starts.visitor_type = 'customer'
            and touchpoints.customer_id = rebuild_starts.visitor_id
            and (rebuild_starts.rebuild_from is null or touchpoints.occurred_at >= rebuild_starts.rebuild_from)

    union

    select events.event_id
    from events
    inner join rebuild_starts
        on
            rebuild_starts.visitor_type = 'anonymous_id'
            and events.anonymous_id = rebuild_starts.visitor_id
            and (rebuild_starts.rebuild_from is null or events.occurred_at >= rebuild_starts.rebuild_from)

    union

    select events.event_id
    from events
    inner join rebuild_starts
        on
            rebuild_starts.visitor_type = 'user_id'
            and events.user_id = rebuild_starts.visitor_id
            and (rebuild_starts.rebuild_from is null or events.occurred_at >= rebuild_starts.rebuild_from)
),

-- the events to cut again with their visitor
candidate_visitor_events as (
    {{ session_visitor_events('events', 'touchpoints', 'candidate_events') }}
),

events_to_build as (
    select
        candidate_visitor_events.*,
        rebuild_starts.sessions_kept,
        rebuild_starts.ms_before_rebuild
    from candidate_visitor_events
    inner join rebuild_starts
        on
            candidate_visitor_events.visitor_type = rebuild_starts.visitor_type
            and candidate_visitor_events.visitor_id = rebuild_starts.visitor_id
            and candidate_visitor_events.channel = rebuild_starts.channel
    where
        rebuild_starts.rebuild_from is null
        or candidate_visitor_events.occurred_at >= rebuild_starts.rebuild_from
),
{% else %}
visitor_events as (
    {{ session_visitor_events('events', 'touchpoints') }}
),

events_to_build as (
    select
        *,
        0 as sessions_kept,
        cast(null as bigint) as ms_before_rebuild
    from visitor_events
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
        coalesce(
            {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'millisecond') }},
            ms_before_rebuild
        ) as ms_since_previous_event
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
        sessions_kept + sum(is_session_start) over (
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
