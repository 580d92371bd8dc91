{#
    Every identifier seen in any source, one row per (record, identifier). A
    message recipient is typed by its channel's address types (seed
    channel_address_types): when a channel takes several (Viber: phone or Viber
    id; mobile push: push token or device id) the type under which the value is
    already known from another source wins, else the first listed.
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

survey_responses as (
    select * from {{ ref('stg_survey_responses') }}
),

consents as (
    select * from {{ ref('stg_consents') }}
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

-- the identifier types of the channels that take several (only there does it
-- matter whether an address is already known)
ambiguous_types as (
    select distinct channel_types.identifier_type
    from channel_address_types as channel_types
    inner join channel_address_types as other_types
        on
            channel_types.channel = other_types.channel
            and other_types.address_rank > 1
),

known_identifiers as (
    select distinct
        identifiers_outside_messages.identifier_type,
        identifiers_outside_messages.identifier
    from identifiers_outside_messages
    inner join ambiguous_types
        on identifiers_outside_messages.identifier_type = ambiguous_types.identifier_type
    where identifiers_outside_messages.identifier is not null
),

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

ranked_recipient_types as (
    select
        recipient_candidates.*,
        row_number() over (
            partition by recipient_candidates.record_id
            order by
                case when known_identifiers.identifier is null then 1 else 0 end,
                recipient_candidates.address_rank
        ) as type_rank
    from recipient_candidates
    left join known_identifiers
        on
            recipient_candidates.identifier_type = known_identifiers.identifier_type
            and recipient_candidates.identifier = known_identifiers.identifier
    where recipient_candidates.identifier is not null
),

message_recipient_identifiers as (
    select
        'message_events' as source_name,
        record_id,
        occurred_at,
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
)

select
    source_name,
    record_id,
    observed_at,
    identifier_type,
    identifier,
    _loaded_at
from all_identifiers
where identifier is not null
