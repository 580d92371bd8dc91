{#
    The tidy KPI layout shared by fct_experience_kpis and fct_business_kpis, as
    CTEs to follow a model's import CTEs: facts (fact_date, channel, segment, kpi,
    numerator, denominator) are summed per period grain (var `kpi_period_grains`),
    rolled up to channel 'all' and segment 'all' (totals sum numerators and
    denominators, never average values), and valued as value_scale (seed
    kpi_catalog) x numerator / denominator. The last CTE is `tidy_kpis`.
#}
{% macro tidy_kpi_ctes(facts, kpi_catalog) %}
{%- set grains = var('kpi_period_grains', ['day', 'week', 'month']) -%}
{%- set rollups = [
    ('channel', 'segment', 'segment is not null'),
    ('channel', "'all'", none),
    ("'all'", 'segment', 'segment is not null'),
    ("'all'", "'all'", none),
] -%}

facts_by_period as (
    {%- for grain in grains %}
    select
        '{{ grain }}' as period_grain,
        cast({{ dbt.date_trunc(grain, 'fact_date') }} as date) as period_start,
        channel,
        segment,
        kpi,
        numerator,
        denominator
    from {{ facts }}
    {%- if not loop.last %}

    union all
    {% endif -%}
    {% endfor %}
),

rolled_up as (
    {%- for channel_expression, segment_expression, condition in rollups %}
    select
        period_grain,
        period_start,
        {{ channel_expression }} as channel,
        {{ segment_expression }} as segment,
        kpi,
        sum(numerator) as numerator,
        sum(denominator) as denominator
    from facts_by_period
    {%- if condition %}
    where {{ condition }}
    {%- endif %}
    group by
        period_grain,
        period_start,
        {%- if channel_expression == 'channel' %}
        channel,
        {%- endif %}
        {%- if segment_expression == 'segment' %}
        segment,
        {%- endif %}
        kpi
    {%- if not loop.last %}

    union all
    {% endif -%}
    {% endfor %}
),

tidy_kpis as (
    select
        rolled_up.period_grain,
        rolled_up.period_start,
        rolled_up.channel,
        rolled_up.segment,
        rolled_up.kpi,
        cast(rolled_up.numerator as decimal(28, 6)) as numerator,
        cast(rolled_up.denominator as decimal(28, 6)) as denominator,
        cast(
            kpi_catalog.value_scale * rolled_up.numerator / nullif(rolled_up.denominator, 0)
            as decimal(28, 6)
        ) as value
    from rolled_up
    inner join {{ kpi_catalog }} as kpi_catalog
        on rolled_up.kpi = kpi_catalog.kpi
)
{% endmacro %}
