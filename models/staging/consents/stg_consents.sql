with

raw_consents as (
    select * from {{ source('raw', 'consents') }}
),

channel_aliases as (
    select * from {{ ref('channel_aliases') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

phone_rules as (
    {{ phone_rules('calling_codes') }}
),

normalized_consents as (
    select
        {{ to_utc_timestamp('raw_consents.occurred_at') }} as occurred_at,
        {{ clean_enum('raw_consents.identifier_type') }} as identifier_type,
        case {{ clean_enum('raw_consents.identifier_type') }}
            when 'email' then {{ normalize_email('raw_consents.identifier') }}
            when 'phone' then {{ normalize_phone('raw_consents.identifier') }}
            else {{ clean_text('raw_consents.identifier') }}
        end as identifier,
        {{ clean_text('raw_consents.identifier') }} as identifier_as_delivered,
        case
            when {{ clean_text('raw_consents.channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as channel,
        {{ clean_enum('raw_consents.status') }} as consent_status,
        {{ clean_text('raw_consents.source') }} as consent_source,
        raw_consents._source_file,
        raw_consents._source_line,
        raw_consents._loaded_at
    from raw_consents
    cross join phone_rules
    left join channel_aliases
        on {{ channel_key('raw_consents.channel') }} = channel_aliases.alias
),

keyed_consents as (
    select
        {{ generate_surrogate_key([
            'identifier_type',
            'coalesce(identifier, identifier_as_delivered)',
            'channel',
            'occurred_at',
            'consent_status',
        ]) }} as consent_id,
        *
    from normalized_consents
),

ranked_consent_versions as (
    select
        *,
        consent_status = 'opt_in' as is_opt_in,
        row_number() over (
            partition by consent_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from keyed_consents
),

deduplicated_consents as (
    select
        consent_id,
        occurred_at,
        identifier_type,
        identifier,
        identifier_as_delivered,
        channel,
        consent_status,
        is_opt_in,
        consent_source,
        _source_file,
        _loaded_at
    from ranked_consent_versions
    where version_rank = 1
)

select * from deduplicated_consents
