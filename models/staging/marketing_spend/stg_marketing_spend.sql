with

raw_marketing_spend as (
    select * from {{ source('raw', 'marketing_spend') }}
),

channel_aliases as (
    select * from {{ ref('channel_aliases') }}
),

normalized_spend as (
    select
        cast({{ clean_text('raw_marketing_spend.date') }} as date) as spend_date,
        case
            when {{ clean_text('raw_marketing_spend.channel') }} is not null
                then coalesce(channel_aliases.channel, 'other')
        end as channel,
        {{ channel_key('raw_marketing_spend.channel') }} as channel_alias,
        {{ clean_text('raw_marketing_spend.campaign_id') }} as campaign_id,
        cast({{ clean_text('raw_marketing_spend.spend') }} as decimal(18, 2)) as spend,
        upper({{ clean_text('raw_marketing_spend.currency') }}) as currency,
        raw_marketing_spend._source_file,
        raw_marketing_spend._source_line,
        raw_marketing_spend._loaded_at
    from raw_marketing_spend
    left join channel_aliases
        on {{ channel_key('raw_marketing_spend.channel') }} = channel_aliases.alias
),

keyed_spend as (
    select
        {{ generate_surrogate_key([
            'spend_date', 'channel_alias', 'campaign_id'
        ]) }} as spend_id,
        *
    from normalized_spend
),

ranked_spend_versions as (
    select
        *,
        row_number() over (
            partition by spend_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from keyed_spend
),

deduplicated_spend as (
    select
        spend_id,
        spend_date,
        channel,
        channel_alias,
        campaign_id,
        spend,
        currency,
        _source_file,
        _loaded_at
    from ranked_spend_versions
    where version_rank = 1
)

select * from deduplicated_spend
