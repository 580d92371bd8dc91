with

raw_survey_responses as (
    select * from {{ source('raw', 'survey_responses') }}
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

normalized_responses as (
    select
        {{ clean_text('raw_survey_responses.response_id') }} as response_id,
        {{ to_utc_timestamp('raw_survey_responses.responded_at') }} as responded_at,
        {{ clean_enum('raw_survey_responses.survey_type') }} as survey_type,
        cast({{ clean_text('raw_survey_responses.score') }} as integer) as score,
        case
            when {{ clean_text('raw_survey_responses.touchpoint_channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as touchpoint_channel,
        {{ clean_text('raw_survey_responses.user_id') }} as user_id,
        {{ normalize_email('raw_survey_responses.email') }} as email,
        {{ normalize_phone('raw_survey_responses.phone') }} as phone,
        {{ clean_text('raw_survey_responses.comment') }} as response_comment,
        raw_survey_responses._source_file,
        raw_survey_responses._source_line,
        raw_survey_responses._loaded_at
    from raw_survey_responses
    cross join phone_rules
    left join channel_aliases
        on {{ channel_key('raw_survey_responses.touchpoint_channel') }} = channel_aliases.alias
),

ranked_response_versions as (
    select
        *,
        row_number() over (
            partition by response_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_responses
),

deduplicated_responses as (
    select
        response_id,
        responded_at,
        survey_type,
        score,
        touchpoint_channel,
        user_id,
        email,
        phone,
        response_comment,
        _source_file,
        _loaded_at
    from ranked_response_versions
    where version_rank = 1
)

select * from deduplicated_responses
