{{ config(**incremental_versions_config(
    unique_key=['source_name', 'record_id'], day_column='occurred_on'
)) }}

{#
    Every interaction of every source, one row each, with the customer of the
    record it comes from. A source record may give several touchpoints (an order
    that was returned: order_placed and order_returned). Support interactions
    belong to the customer of their ticket.
#}
with

events as (
    select * from {{ ref('stg_events') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
),

crm_contacts as (
    select * from {{ ref('stg_crm_contacts') }}
),

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
),

support_interactions as (
    select * from {{ ref('stg_support_interactions') }}
),

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
),

consents as (
    select * from {{ ref('stg_consents') }}
),

message_events as (
    select * from {{ ref('stg_message_events') }}
),

channels as (
    select * from {{ ref('channels') }}
),

record_customers as (
    select * from {{ ref('int_identity__record_customers') }}
),

-- web and app events: the Segment type or the e-commerce spec v2 event name
typed_events as (
    select
        *,
        case
            when event_type = 'identify' then 'identify'
            when event_type = 'page' then 'page_view'
            when event_type = 'screen' then 'screen_view'
            when lower(event_name) = 'signed up' then 'sign_up'
            when lower(event_name) = 'products searched' then 'product_search'
            when lower(event_name) = 'product viewed' then 'product_view'
            when lower(event_name) = 'product added' then 'add_to_cart'
            when lower(event_name) = 'product removed' then 'remove_from_cart'
            when lower(event_name) = 'cart viewed' then 'cart_view'
            when lower(event_name) = 'checkout started' then 'checkout'
            when lower(event_name) = 'order completed' then 'purchase'
            when
                lower(event_name) in (
                    'email link clicked', 'message link clicked', 'in-app message clicked'
                )
                then 'message_link_clicked'
            when lower(event_name) = 'push opened' then 'push_opened'
            else 'custom_event'
        end as touch_type
    from events
),

-- a message click or push open tracked by the shop is a touch of the message's
-- channel (from the campaign tags); every other event is a web or app touch
event_touchpoints as (
    select
        'events' as source_name,
        typed_events.event_id as record_id,
        'events' as owner_source_name,
        typed_events.event_id as owner_record_id,
        typed_events.touch_type,
        case
            when
                typed_events.touch_type in ('message_link_clicked', 'push_opened')
                and campaign_channels.channel_group = 'messaging'
                then typed_events.campaign_channel
            else typed_events.touch_channel
        end as channel,
        typed_events.occurred_at,
        coalesce(typed_events.revenue, typed_events.price) as touch_value,
        typed_events.currency,
        typed_events.campaign_name as campaign_id,
        typed_events._loaded_at
    from typed_events
    left join channels as campaign_channels
        on typed_events.campaign_channel = campaign_channels.channel
),

-- every order is placed; a cancelled or returned one also gets its outcome,
-- dated at the order (the feed has no time of the status change)
order_touchpoints as (
    select
        'orders' as source_name,
        order_id as record_id,
        'orders' as owner_source_name,
        order_id as owner_record_id,
        'order_placed' as touch_type,
        channel,
        ordered_at as occurred_at,
        total_amount as touch_value,
        currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from orders

    union all

    select
        'orders' as source_name,
        order_id as record_id,
        'orders' as owner_source_name,
        order_id as owner_record_id,
        case order_status
            when 'cancelled' then 'order_cancelled'
            else 'order_returned'
        end as touch_type,
        channel,
        ordered_at as occurred_at,
        total_amount as touch_value,
        currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from orders
    where order_status in ('cancelled', 'returned')
),

crm_contact_touchpoints as (
    select
        'crm_contacts' as source_name,
        contact_id as record_id,
        'crm_contacts' as owner_source_name,
        contact_id as owner_record_id,
        'crm_contact_created' as touch_type,
        cast(null as {{ dbt.type_string() }}) as channel,
        created_at as occurred_at,
        cast(null as decimal(18, 6)) as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from crm_contacts
),

support_ticket_touchpoints as (
    select
        'support_tickets' as source_name,
        ticket_id as record_id,
        'support_tickets' as owner_source_name,
        ticket_id as owner_record_id,
        'support_ticket_opened' as touch_type,
        first_channel as channel,
        opened_at as occurred_at,
        cast(null as decimal(18, 6)) as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from support_tickets

    union all

    select
        'support_tickets' as source_name,
        ticket_id as record_id,
        'support_tickets' as owner_source_name,
        ticket_id as owner_record_id,
        'support_ticket_resolved' as touch_type,
        first_channel as channel,
        resolved_at as occurred_at,
        cast(null as decimal(18, 6)) as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from support_tickets
    where resolved_at is not null
),

support_interaction_touchpoints as (
    select
        'support_interactions' as source_name,
        interaction_id as record_id,
        'support_tickets' as owner_source_name,
        ticket_id as owner_record_id,
        {{ dbt.concat(["'support_interaction_'", 'direction']) }} as touch_type,
        channel,
        occurred_at,
        cast(null as decimal(18, 6)) as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from support_interactions
),

survey_response_touchpoints as (
    select
        'survey_responses' as source_name,
        response_id as record_id,
        'survey_responses' as owner_source_name,
        response_id as owner_record_id,
        {{ dbt.concat(['survey_type', "'_response'"]) }} as touch_type,
        touchpoint_channel as channel,
        responded_at as occurred_at,
        score as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from survey_responses
),

consent_touchpoints as (
    select
        'consents' as source_name,
        consent_id as record_id,
        'consents' as owner_source_name,
        consent_id as owner_record_id,
        {{ dbt.concat(["'consent_'", 'consent_status']) }} as touch_type,
        channel,
        occurred_at,
        cast(null as decimal(18, 6)) as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        _loaded_at
    from consents
),

message_event_touchpoints as (
    select
        'message_events' as source_name,
        message_event_id as record_id,
        'message_events' as owner_source_name,
        message_event_id as owner_record_id,
        {{ dbt.concat(["'message_'", 'event_type']) }} as touch_type,
        channel,
        occurred_at,
        message_cost as touch_value,
        cast(null as {{ dbt.type_string() }}) as currency,
        campaign_id,
        _loaded_at
    from message_events
),

all_touchpoints as (
    select * from event_touchpoints
    union all
    select * from order_touchpoints
    union all
    select * from crm_contact_touchpoints
    union all
    select * from support_ticket_touchpoints
    union all
    select * from support_interaction_touchpoints
    union all
    select * from survey_response_touchpoints
    union all
    select * from consent_touchpoints
    union all
    select * from message_event_touchpoints
),

-- read again where it is used, not stored: an incremental run reads it three times, each
-- with its own filter, and storing every touchpoint first cost more (macros/cross_db/
-- cte_materialization.sql)
dated_touchpoints as {{ cte_materialization(false) }} (
    select
        *,
        cast(occurred_at as date) as occurred_on
    from all_touchpoints
),

{% if is_incremental() %}
-- the records whose customer changed since the last build (merged, split, newly known)
reassigned_owners as (
    {{ reassigned_records(ref('int_identity__record_customers')) }}
),

-- the records to rebuild: loaded since the last build, in the look-back window, or
-- re-keyed (each filter reaches into every source of the union)
records_to_build as (
    select
        source_name,
        record_id
    from dated_touchpoints
    where
        _loaded_at >= {{ incremental_loaded_since() }}
        or occurred_on >= {{ incremental_window_start('occurred_on') }}

    union

    select
        dated_touchpoints.source_name,
        dated_touchpoints.record_id
    from dated_touchpoints
    inner join reassigned_owners
        on
            dated_touchpoints.owner_source_name = reassigned_owners.source_name
            and dated_touchpoints.owner_record_id = reassigned_owners.record_id
),

touchpoints_to_build as (
    {{ incremental_record_rows(
        rows='dated_touchpoints',
        records='records_to_build',
        key_columns=['source_name', 'record_id'],
        day_column='occurred_on'
    ) }}
),
{% else %}
touchpoints_to_build as (
    select * from dated_touchpoints
),
{% endif %}

touchpoints_with_customers as (
    select
        {{ generate_surrogate_key([
            'touchpoints_to_build.source_name',
            'touchpoints_to_build.record_id',
            'touchpoints_to_build.touch_type',
        ]) }} as touchpoint_id,
        record_customers.customer_id,
        touchpoints_to_build.source_name,
        touchpoints_to_build.record_id,
        touchpoints_to_build.owner_source_name,
        touchpoints_to_build.owner_record_id,
        touchpoints_to_build.channel,
        touchpoints_to_build.touch_type,
        touchpoints_to_build.occurred_at,
        cast(touchpoints_to_build.touch_value as decimal(18, 6)) as touch_value,
        touchpoints_to_build.currency,
        touchpoints_to_build.campaign_id,
        record_customers.customer_assigned_at,
        touchpoints_to_build._loaded_at,
        touchpoints_to_build.occurred_on
    from touchpoints_to_build
    left join record_customers
        on
            touchpoints_to_build.owner_source_name = record_customers.source_name
            and touchpoints_to_build.owner_record_id = record_customers.record_id
)

select * from touchpoints_with_customers
