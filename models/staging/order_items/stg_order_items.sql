with

raw_order_items as (
    select * from {{ source('raw', 'order_items') }}
),

normalized_order_items as (
    select
        {{ clean_text('order_id') }} || '-' || cast(
            cast({{ clean_text('line_no') }} as integer) as {{ dbt.type_string() }}
        ) as order_item_id,
        {{ clean_text('order_id') }} as order_id,
        cast({{ clean_text('line_no') }} as integer) as line_no,
        {{ clean_text('product_id') }} as product_id,
        cast({{ clean_text('quantity') }} as integer) as quantity,
        cast({{ clean_text('unit_price') }} as decimal(18, 2)) as unit_price,
        _source_file,
        _source_line,
        _loaded_at
    from raw_order_items
),

ranked_order_item_versions as (
    select
        *,
        row_number() over (
            partition by order_item_id
            order by _loaded_at desc, _source_file desc, _source_line desc
        ) as version_rank
    from normalized_order_items
),

deduplicated_order_items as (
    select
        order_item_id,
        order_id,
        line_no,
        product_id,
        quantity,
        unit_price,
        _source_file,
        _loaded_at
    from ranked_order_item_versions
    where version_rank = 1
)

select * from deduplicated_order_items
