with

raw_stores as (
    select * from {{ source('raw', 'stores') }}
),

normalized_stores as (
    select
        {{ clean_text('store_id') }} as store_id,
        {{ clean_text('name') }} as store_name,
        {{ clean_text('city') }} as city,
        _source_file,
        _source_line,
        _loaded_at
    from raw_stores
),

ranked_store_versions as (
    select
        *,
        row_number() over (
            partition by store_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_stores
),

latest_stores as (
    select
        store_id,
        store_name,
        city,
        _source_file,
        _loaded_at
    from ranked_store_versions
    where version_rank = 1
)

select * from latest_stores
