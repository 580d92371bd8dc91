with

raw_support_interactions as (
    select * from {{ source('raw', 'support_interactions') }}
),

channel_aliases as (
    select * from {{ ref('channel_aliases') }}
),

normalized_interactions as (
    select
        {{ clean_text('raw_support_interactions.interaction_id') }} as interaction_id,
        {{ clean_text('raw_support_interactions.ticket_id') }} as ticket_id,
        {{ to_utc_timestamp('raw_support_interactions.occurred_at') }} as occurred_at,
        case
            when {{ clean_text('raw_support_interactions.channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as channel,
        {{ clean_enum('raw_support_interactions.direction') }} as direction,
        {{ clean_enum('raw_support_interactions.handled_by') }} as handled_by,
        raw_support_interactions._source_file,
        raw_support_interactions._source_line,
        raw_support_interactions._loaded_at
    from raw_support_interactions
    left join channel_aliases
        on {{ channel_key('raw_support_interactions.channel') }} = channel_aliases.alias
),

ranked_interaction_versions as (
    select
        *,
        row_number() over (
            partition by interaction_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_interactions
),

deduplicated_interactions as (
    select
        interaction_id,
        ticket_id,
        occurred_at,
        channel,
        direction,
        handled_by,
        _source_file,
        _loaded_at
    from ranked_interaction_versions
    where version_rank = 1
)

select * from deduplicated_interactions
