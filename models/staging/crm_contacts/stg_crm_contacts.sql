with

raw_crm_contacts as (
    select * from {{ source('raw', 'crm_contacts') }}
),

calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

phone_rules as (
    {{ phone_rules('calling_codes') }}
),

normalized_contacts as (
    select
        {{ clean_text('raw_crm_contacts.contact_id') }} as contact_id,
        {{ to_utc_timestamp('raw_crm_contacts.created_at') }} as created_at,
        {{ to_utc_timestamp('raw_crm_contacts.updated_at') }} as updated_at,
        {{ clean_text('raw_crm_contacts.user_id') }} as user_id,
        {{ normalize_email('raw_crm_contacts.email') }} as email,
        {{ normalize_phone('raw_crm_contacts.phone') }} as phone,
        {{ clean_text('raw_crm_contacts.loyalty_card_id') }} as loyalty_card_id,
        {{ clean_text('raw_crm_contacts.telegram_id') }} as telegram_id,
        {{ clean_text('raw_crm_contacts.viber_id') }} as viber_id,
        {{ clean_text('raw_crm_contacts.first_name') }} as first_name,
        {{ clean_text('raw_crm_contacts.last_name') }} as last_name,
        cast({{ clean_text('raw_crm_contacts.birth_date') }} as date) as birth_date,
        {{ clean_text('raw_crm_contacts.city') }} as city,
        raw_crm_contacts._source_file,
        raw_crm_contacts._source_line,
        raw_crm_contacts._loaded_at
    from raw_crm_contacts
    cross join phone_rules
),

ranked_contact_versions as (
    select
        *,
        row_number() over (
            partition by contact_id
            order by
                updated_at desc,
                _loaded_at desc,
                _source_file desc,
                _source_line desc
        ) as version_rank
    from normalized_contacts
),

latest_contacts as (
    select
        contact_id,
        created_at,
        updated_at,
        user_id,
        email,
        phone,
        loyalty_card_id,
        telegram_id,
        viber_id,
        first_name,
        last_name,
        birth_date,
        city,
        _source_file,
        _loaded_at
    from ranked_contact_versions
    where version_rank = 1
)

select * from latest_contacts
