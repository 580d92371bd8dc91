{#
    Experience KPIs (NPS, CES, CSAT, first contact resolution, average
    resolution time, bot containment), tidy: one row per period grain
    (var `kpi_period_grains`, default day, week and month), period, channel,
    segment and KPI with its summed numerator and denominator and the value
    value_scale (seed kpi_catalog) x numerator / denominator.

    Roll-up: channel 'all' and segment 'all' are totals over every channel
    (segment), including 'unknown' and 'unsegmented'; a total's numerator and
    denominator are the sums of its parts and its value is computed from them,
    never averaged from the parts' values.

    The value column keeps the name of the tidy layout although `value` is a
    keyword to the linter (hence its noqa).
#}
{%- set grains = var('kpi_period_grains', ['day', 'week', 'month']) -%}
{%- set rollups = [
    ('channel', 'segment', 'segment is not null'),
    ('channel', "'all'", none),
    ("'all'", 'segment', 'segment is not null'),
    ("'all'", "'all'", none),
] -%}

with

facts as (
    select * from {{ ref('int_kpis__experience_facts') }}
),

kpi_catalog as (
    select * from {{ ref('kpi_catalog') }}
),

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
    from facts
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

experience_kpis as (
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
        ) as value  -- noqa: RF04
    from rolled_up
    inner join kpi_catalog
        on rolled_up.kpi = kpi_catalog.kpi
)

select * from experience_kpis
