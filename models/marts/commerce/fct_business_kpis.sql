{#
    Business KPIs (average order value, return rate, cancellation rate, cost
    per acquisition, ROMI, message cost per message sent and per click),
    tidy: one row per period grain (var `kpi_period_grains`, default day,
    week and month), period, channel, segment and KPI with its summed
    numerator and denominator and the value value_scale (seed kpi_catalog) x
    numerator / denominator (null when the denominator is 0: cost without new
    customers, revenue without cost). Channel is the sales channel for order
    KPIs, the marketing channel for CPA and ROMI, the messaging channel for
    message costs.

    Roll-up: channel 'all' and segment 'all' are totals over every channel
    (segment), including 'unattributed' and 'unsegmented'; a total's
    numerator and denominator are the sums of its parts and its value is
    computed from them, never averaged from the parts' values. CPA and ROMI
    are not split by segment (costs have none): they have segment 'all' rows
    only.

    The layout is built by macro tidy_kpi_ctes. The value column keeps the name
    of the tidy layout although `value` is a keyword to the linter (hence the
    noqa on the macro call).
#}
with

facts as (
    select * from {{ ref('int_kpis__business_facts') }}
),

kpi_catalog as (
    select * from {{ ref('kpi_catalog') }}
),

{{ tidy_kpi_ctes('facts', 'kpi_catalog') }}  -- noqa: RF04

select * from tidy_kpis
