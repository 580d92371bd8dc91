{{ config(**incremental_rows_config(
    unique_key=['source_name', 'record_id'],
    post_hook='delete from {{ this }} where identifier is null',
)) }}

{#
    Every identifier seen in any source, one row per (record, identifier). A
    message recipient is typed by its channel's address types (seed
    channel_address_types): when a channel takes several (Viber: phone or Viber
    id; mobile push: push token or device id) the type under which the value is
    already known from another source wins, else the first listed.

    Built incrementally record by record on DuckDB (Spark rebuilds the table):
    a run rebuilds the records loaded since the last build or in the look-back
    window (`records_to_rebuild`), and the messages whose recipient may be typed
    differently now: those addressed to an identifier that the rebuilt records
    made known (no other source gave it) or unknown (no kept record gives it). A
    rebuilt record left without identifier is written once without one, so its
    stored rows go, and the post-hook deletes that row.
#}
with

events as (
    select * from {{ ref('stg_events') }}
    {{ records_to_rebuild('occurred_at', 'observed_at') }}
),

orders as (
    select * from {{ ref('stg_orders') }}
    {{ records_to_rebuild('ordered_at', 'observed_at') }}
),

crm_contacts as (
    select * from {{ ref('stg_crm_contacts') }}
    {{ records_to_rebuild('updated_at', 'observed_at') }}
),

support_tickets as (
    select * from {{ ref('stg_support_tickets') }}
    {{ records_to_rebuild('opened_at', 'observed_at') }}
),

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
    {{ records_to_rebuild('responded_at', 'observed_at') }}
),

consents as (
    select * from {{ ref('stg_consents') }}
    {{ records_to_rebuild('occurred_at', 'observed_at') }}
),

message_events as (
    select * from {{ ref('stg_message_events') }}
),

channel_address_types as (
    select * from {{ ref('channel_address_types') }}
),

event_identifiers as (
    {{ identifier_observations('events', 'events', 'event_id', 'occurred_at', {
        'user_id': 'user_id', 'anonymous_id': 'anonymous_id', 'device_id': 'device_id',
        'push_token': 'push_token', 'email': 'email', 'phone': 'phone',
        'loyalty_card_id': 'loyalty_card_id', 'order_id': 'order_id'}) }}
),

order_identifiers as (
    {{ identifier_observations('orders', 'orders', 'order_id', 'ordered_at', {
        'order_id': 'order_id', 'user_id': 'user_id', 'email': 'email', 'phone': 'phone',
        'loyalty_card_id': 'loyalty_card_id'}) }}
),

crm_contact_identifiers as (
    {{ identifier_observations('crm_contacts', 'crm_contacts', 'contact_id', 'updated_at', {
        'crm_contact_id': 'contact_id', 'user_id': 'user_id', 'email': 'email',
        'phone': 'phone', 'loyalty_card_id': 'loyalty_card_id',
        'telegram_id': 'telegram_id', 'viber_id': 'viber_id'}) }}
),

support_ticket_identifiers as (
    {{ identifier_observations('support_tickets', 'support_tickets', 'ticket_id', 'opened_at', {
        'user_id': 'user_id', 'email': 'email', 'phone': 'phone',
        'telegram_id': 'telegram_id'}) }}
),

survey_response_identifiers as (
    {{ identifier_observations(
        'survey_responses', 'survey_responses', 'response_id', 'responded_at', {
            'user_id': 'user_id', 'email': 'email', 'phone': 'phone'}) }}
),

consent_identifiers as (
    select
        'consents' as source_name,
        consent_id as record_id,
        occurred_at,
        identifier_type,
        identifier,
        _loaded_at
    from consents
),

identifiers_outside_messages as (
    select * from event_identifiers
    union all
    select * from order_identifiers
    union all
    select * from crm_contact_identifiers
    union all
    select * from support_ticket_identifiers
    union all
    select * from survey_response_identifiers
    union all
    select * from consent_identifiers
),

{% if is_incremental() %}
stored_observations as (
    select * from {{ this }}
),

-- the records rebuilt outside messages, those now without identifier included
rebuilt_records_outside_messages as (
    select 'events' as source_name, event_id as record_id from events
    union all
    select 'orders' as source_name, order_id as record_id from orders
    union all
    select 'crm_contacts' as source_name, contact_id as record_id from crm_contacts
    union all
    select 'support_tickets' as source_name, ticket_id as record_id from support_tickets
    union all
    select 'survey_responses' as source_name, response_id as record_id from survey_responses
    union all
    select 'consents' as source_name, consent_id as record_id from consents
),

-- the identifiers the rebuilt records carry now or carried as stored
identifier_candidates as (
    select
        identifier_type,
        identifier
    from identifiers_outside_messages
    where identifier is not null
    union
    select
        stored_observations.identifier_type,
        stored_observations.identifier
    from stored_observations
    inner join rebuilt_records_outside_messages
        on
            stored_observations.source_name = rebuilt_records_outside_messages.source_name
            and stored_observations.record_id = rebuilt_records_outside_messages.record_id
),

-- how each candidate was known from another source than messages: before this
-- run (any stored record), and still through a record this run keeps
stored_knowledge as (
    select
        stored_observations.identifier_type,
        stored_observations.identifier,
        max(case when rebuilt_records_outside_messages.record_id is null then 1 else 0 end)
            as is_known_from_kept_record
    from stored_observations
    inner join identifier_candidates
        on
            stored_observations.identifier_type = identifier_candidates.identifier_type
            and stored_observations.identifier = identifier_candidates.identifier
    left join rebuilt_records_outside_messages
        on
            stored_observations.source_name = rebuilt_records_outside_messages.source_name
            and stored_observations.record_id = rebuilt_records_outside_messages.record_id
    where stored_observations.source_name <> 'message_events'
    group by stored_observations.identifier_type, stored_observations.identifier
),

rebuilt_identifiers as (
    select distinct
        identifier_type,
        identifier
    from identifiers_outside_messages
    where identifier is not null
),

-- the identifiers that became known or unknown: a message addressed to one of
-- them may be typed differently now
changed_identifiers as (
    select
        identifier_candidates.identifier_type,
        identifier_candidates.identifier
    from identifier_candidates
    left join stored_knowledge
        on
            identifier_candidates.identifier_type = stored_knowledge.identifier_type
            and identifier_candidates.identifier = stored_knowledge.identifier
    left join rebuilt_identifiers
        on
            identifier_candidates.identifier_type = rebuilt_identifiers.identifier_type
            and identifier_candidates.identifier = rebuilt_identifiers.identifier
    where
        (stored_knowledge.identifier is not null)
        <> (
            rebuilt_identifiers.identifier is not null
            or coalesce(stored_knowledge.is_known_from_kept_record, 0) = 1
        )
),
{% endif %}

recipient_candidates as (
    select
        message_events.message_event_id as record_id,
        message_events.occurred_at,
        message_events._loaded_at,
        channel_address_types.identifier_type,
        channel_address_types.address_rank,
        case channel_address_types.identifier_type
            when 'email' then message_events.recipient_email
            when 'phone' then message_events.recipient_phone
            else message_events.recipient
        end as identifier
    from message_events
    inner join channel_address_types
        on message_events.channel = channel_address_types.channel
),

{% if is_incremental() %}
-- messages loaded since the last build or in the look-back window, and those
-- addressed to a changed identifier
rebuilt_messages as (
    select message_event_id as record_id
    from message_events
    {{ records_to_rebuild('occurred_at', 'observed_at') }}
    union
    select recipient_candidates.record_id
    from recipient_candidates
    inner join changed_identifiers
        on
            recipient_candidates.identifier_type = changed_identifiers.identifier_type
            and recipient_candidates.identifier = changed_identifiers.identifier
),

rebuilt_recipient_candidates as (
    select recipient_candidates.*
    from recipient_candidates
    inner join rebuilt_messages
        on recipient_candidates.record_id = rebuilt_messages.record_id
),

-- the candidates known from another source: from a rebuilt record, or stored
-- for a record this run keeps
known_identifiers as (
    select
        identifier_type,
        identifier
    from identifiers_outside_messages
    union
    select
        stored_observations.identifier_type,
        stored_observations.identifier
    from stored_observations
    inner join rebuilt_recipient_candidates
        on
            stored_observations.identifier_type = rebuilt_recipient_candidates.identifier_type
            and stored_observations.identifier = rebuilt_recipient_candidates.identifier
    left join rebuilt_records_outside_messages
        on
            stored_observations.source_name = rebuilt_records_outside_messages.source_name
            and stored_observations.record_id = rebuilt_records_outside_messages.record_id
    where
        stored_observations.source_name <> 'message_events'
        and rebuilt_records_outside_messages.record_id is null
),
{% else %}
rebuilt_recipient_candidates as (
    select * from recipient_candidates
),

known_identifiers as (
    select distinct
        identifier_type,
        identifier
    from identifiers_outside_messages
    where identifier is not null
),
{% endif %}

ranked_recipient_types as (
    select
        rebuilt_recipient_candidates.*,
        row_number() over (
            partition by rebuilt_recipient_candidates.record_id
            order by
                case when known_identifiers.identifier is null then 1 else 0 end,
                rebuilt_recipient_candidates.address_rank
        ) as type_rank
    from rebuilt_recipient_candidates
    left join known_identifiers
        on
            rebuilt_recipient_candidates.identifier_type = known_identifiers.identifier_type
            and rebuilt_recipient_candidates.identifier = known_identifiers.identifier
    where rebuilt_recipient_candidates.identifier is not null
),

message_recipient_identifiers as (
    select
        'message_events' as source_name,
        record_id,
        occurred_at as observed_at,
        identifier_type,
        identifier,
        _loaded_at
    from ranked_recipient_types
    where type_rank = 1
),

all_identifiers as (
    select * from identifiers_outside_messages
    union all
    select * from message_recipient_identifiers
),

observations as (
    select
        source_name,
        record_id,
        observed_at,
        identifier_type,
        identifier,
        _loaded_at
    from all_identifiers
    where identifier is not null
)

{% if is_incremental() %},

rebuilt_records as (
    select
        source_name,
        record_id
    from rebuilt_records_outside_messages
    union all
    select
        'message_events' as source_name,
        record_id
    from rebuilt_messages
),

-- a rebuilt record that carries no identifier now: one row without one, so that
-- its stored rows are deleted (the post-hook then deletes this row)
records_without_identifier as (
    select
        rebuilt_records.source_name,
        rebuilt_records.record_id,
        cast(null as {{ dbt.type_timestamp() }}) as observed_at,
        cast(null as {{ dbt.type_string() }}) as identifier_type,
        cast(null as {{ dbt.type_string() }}) as identifier,
        cast(null as {{ dbt.type_timestamp() }}) as _loaded_at
    from rebuilt_records
    left join observations
        on
            rebuilt_records.source_name = observations.source_name
            and rebuilt_records.record_id = observations.record_id
    where observations.record_id is null
)

select * from observations
union all
select * from records_without_identifier
{% else %}

select * from observations
{% endif %}
