{#
    The web and app events of the journey sessions, each with its visitor: the
    customer of the event (its touchpoint), else its anonymous id, else its
    user id. `events` is stg_events, `touchpoints` the timeline's rows of the
    events source; with `event_ids` (a relation with an `event_id` column),
    only those events. The filter is put on both sides of the join, before it:
    DuckDB does not push a filter on the joined rows through the join. At 1m
    the sessions' next-day batch (2.45M of 23.3M events) took 40.5 and 43.2 s
    this way, against 89.6 and 85.1 s with the joined rows filtered.
#}
{% macro session_visitor_events(events, touchpoints, event_ids=none) -%}
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
    from {{ events }} as events
    inner join {{ touchpoints }} as touchpoints
        on events.event_id = touchpoints.record_id
    {%- if event_ids %}
    where
        events.event_id in (select event_id from {{ event_ids }})
        and touchpoints.record_id in (select event_id from {{ event_ids }})
    {%- endif %}
{%- endmacro %}
