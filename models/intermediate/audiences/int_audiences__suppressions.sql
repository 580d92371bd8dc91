{#
    Every reason not to send, one row per suppression: an address (on one
    channel, or on every channel when channel is null) or a whole customer.

    - suppression_list: the entries of seed suppression_list. An entry whose
      identifier type is a messaging address (seed identifier_types) suppresses
      that address; any other identifier (user_id, crm_contact_id, ...)
      suppresses the customer it belongs to. An empty channel means every
      channel. Identifiers are normalized like staging does (lower-case e-mail,
      E.164 phone).
    - unsubscribed: the recipient unsubscribed through a message of the
      channel: the address is opted out of that channel, unless it opted in to
      it again afterwards (a later opt-in consent event).
    - complained: the recipient marked a message as spam: the address is
      suppressed on every channel.
    - undeliverable: var `audience_bounce_threshold` (default 3) or more
      distinct messages bounced or failed on the address and channel since its
      latest delivery, open or click there.
#}
{%- set bounce_threshold = var('audience_bounce_threshold', 3) -%}

with

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

identifier_types as (
    select * from {{ ref('identifier_types') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

identifiers as (
    select * from {{ ref('dim_customer_identifiers') }}
),

message_events as (
    select * from {{ ref('stg_message_events') }}
),

recipients as (
    select * from {{ ref('int_identity__observations') }}
    where source_name = 'message_events'
),

address_consents as (
    select * from {{ ref('int_audiences__address_consents') }}
),

phone_rules as (
    {{ phone_rules('calling_codes') }}
),

listed_entries as (
    select
        {{ clean_enum('suppression_list.identifier_type') }} as identifier_type,
        case {{ clean_enum('suppression_list.identifier_type') }}
            when 'email' then {{ normalize_email('suppression_list.identifier') }}
            when 'phone' then {{ normalize_phone('suppression_list.identifier') }}
            else {{ clean_text('suppression_list.identifier') }}
        end as identifier,
        {{ clean_enum('suppression_list.channel') }} as channel,
        {{ clean_text('suppression_list.reason') }} as note,
        cast(suppression_list.added_on as timestamp) as suppressed_at
    from suppression_list
    cross join phone_rules
),

listed_suppressions as (
    select
        case when identifier_types.is_messaging_address then 'address' else 'customer' end
            as suppression_scope,
        case when not identifier_types.is_messaging_address then identifiers.customer_id end
            as customer_id,
        case when identifier_types.is_messaging_address then listed_entries.identifier_type end
            as address_type,
        case when identifier_types.is_messaging_address then listed_entries.identifier end
            as address,
        listed_entries.channel,
        'suppression_list' as suppression_reason,
        listed_entries.note,
        listed_entries.suppressed_at
    from listed_entries
    inner join identifier_types
        on listed_entries.identifier_type = identifier_types.identifier_type
    left join identifiers
        on
            listed_entries.identifier_type = identifiers.identifier_type
            and listed_entries.identifier = identifiers.identifier
    where
        listed_entries.identifier is not null
        and (identifier_types.is_messaging_address or identifiers.customer_id is not null)
),

recipient_events as (
    select
        message_events.channel,
        recipients.identifier_type as address_type,
        recipients.identifier as address,
        message_events.message_id,
        message_events.event_type,
        message_events.occurred_at
    from message_events
    inner join recipients
        on message_events.message_event_id = recipients.record_id
),

unsubscriptions as (
    select
        channel,
        address_type,
        address,
        max(occurred_at) as unsubscribed_at
    from recipient_events
    where event_type = 'unsubscribed'
    group by channel, address_type, address
),

unsubscribed_suppressions as (
    select
        'address' as suppression_scope,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        unsubscriptions.address_type,
        unsubscriptions.address,
        unsubscriptions.channel,
        'unsubscribed' as suppression_reason,
        'Unsubscribed through a message of the channel' as note,
        unsubscriptions.unsubscribed_at as suppressed_at
    from unsubscriptions
    left join address_consents
        on
            unsubscriptions.channel = address_consents.channel
            and unsubscriptions.address_type = address_consents.address_type
            and unsubscriptions.address = address_consents.address
            and address_consents.is_opt_in
            and unsubscriptions.unsubscribed_at < address_consents.consent_at
    where address_consents.address is null
),

complaint_suppressions as (
    select
        'address' as suppression_scope,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        address_type,
        address,
        cast(null as {{ dbt.type_string() }}) as channel,
        'complained' as suppression_reason,
        'Marked a message as spam' as note,
        max(occurred_at) as suppressed_at
    from recipient_events
    where event_type = 'complained'
    group by address_type, address
),

latest_successes as (
    select
        channel,
        address_type,
        address,
        max(occurred_at) as last_success_at
    from recipient_events
    where event_type in ('delivered', 'opened', 'clicked')
    group by channel, address_type, address
),

failures_since_success as (
    select
        recipient_events.channel,
        recipient_events.address_type,
        recipient_events.address,
        count(distinct recipient_events.message_id) as failed_message_count,
        max(recipient_events.occurred_at) as last_failed_at
    from recipient_events
    left join latest_successes
        on
            recipient_events.channel = latest_successes.channel
            and recipient_events.address_type = latest_successes.address_type
            and recipient_events.address = latest_successes.address
    where
        recipient_events.event_type in ('bounced', 'failed')
        and (
            latest_successes.last_success_at is null
            or recipient_events.occurred_at > latest_successes.last_success_at
        )
    group by recipient_events.channel, recipient_events.address_type, recipient_events.address
),

undeliverable_suppressions as (
    select
        'address' as suppression_scope,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        address_type,
        address,
        channel,
        'undeliverable' as suppression_reason,
        {{ dbt.concat([
            'cast(failed_message_count as ' ~ dbt.type_string() ~ ')',
            "' messages bounced or failed since the last delivery'",
        ]) }} as note,
        last_failed_at as suppressed_at
    from failures_since_success
    where failed_message_count >= {{ bounce_threshold }}
),

all_suppressions as (
    select * from listed_suppressions
    union all
    select * from unsubscribed_suppressions
    union all
    select * from complaint_suppressions
    union all
    select * from undeliverable_suppressions
)

select
    suppression_scope,
    customer_id,
    address_type,
    address,
    channel,
    suppression_reason,
    min(note) as note,
    max(suppressed_at) as suppressed_at
from all_suppressions
group by
    suppression_scope,
    customer_id,
    address_type,
    address,
    channel,
    suppression_reason
