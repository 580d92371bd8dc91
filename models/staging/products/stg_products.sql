with

raw_products as (
    select * from {{ source('raw', 'products') }}
),

normalized_products as (
    select
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('name') }} as product_name,
        {{ clean_text('category') }} as category,
        {{ clean_text('brand') }} as brand,
        cast({{ clean_text('price') }} as decimal(18, 2)) as price,
        _source_file,
        _source_line,
        _loaded_at
    from raw_products
),

ranked_product_versions as (
    select
        *,
        row_number() over (
            partition by product_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_products
),

latest_products as (
    select
        product_id,
        product_name,
        category,
        brand,
        price,
        _source_file,
        _loaded_at
    from ranked_product_versions
    where version_rank = 1
)

select * from latest_products
