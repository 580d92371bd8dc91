{#
    The moment customer metrics are measured from (recency, days since the last
    order, the 90-day engagement window): var `customers_as_of` when set (a
    timestamp text, e.g. to rebuild a past state), else the latest touchpoint
    that is not in the future, so a rebuild of the same data gives the same
    profiles and a late load does not age every customer.
#}
{%- set as_of = var('customers_as_of', none) -%}
{%- set as_of_expression = (
    "cast('" ~ as_of ~ "' as timestamp)" if as_of else 'latest_occurred_at'
) -%}

with

touchpoints as (
    select * from {{ ref('int_customers__touchpoints') }}
),

latest_touchpoint as (
    select max(occurred_at) as latest_occurred_at
    from touchpoints
    where occurred_at <= cast({{ dbt.current_timestamp() }} as timestamp)
)

select {{ as_of_expression }} as as_of_at
from latest_touchpoint
