{#
    Funnel of web and app sessions: view -> cart -> checkout -> purchase, per
    day (the session's start date, UTC) and channel. A session reached a stage
    when it got that far or further (fct_sessions.funnel_stage_order), so the
    counts never rise from one stage to the next. Counts add up over days:
    sum them for weeks or months (week_start, month_start) and recompute the
    rates from the sums.
#}
with

sessions as (
    select * from {{ ref('fct_sessions') }}
),

journey_touch_types as (
    select * from {{ ref('journey_touch_types') }}
),

funnel_stages as (
    select distinct
        funnel_stage,
        funnel_stage_order
    from journey_touch_types
    where funnel_stage is not null
),

stage_sessions as (
    select
        sessions.session_date,
        sessions.channel,
        funnel_stages.funnel_stage,
        funnel_stages.funnel_stage_order,
        count(*) as sessions_count,
        sum(
            case
                when sessions.funnel_stage_order >= funnel_stages.funnel_stage_order then 1
                else 0
            end
        ) as sessions_reached
    from sessions
    cross join funnel_stages
    group by
        sessions.session_date,
        sessions.channel,
        funnel_stages.funnel_stage,
        funnel_stages.funnel_stage_order
),

previous_stages as (
    select
        *,
        coalesce(
            lag(sessions_reached) over (
                partition by session_date, channel
                order by funnel_stage_order
            ),
            sessions_count
        ) as previous_stage_sessions,
        first_value(sessions_reached) over (
            partition by session_date, channel
            order by funnel_stage_order
            rows between unbounded preceding and unbounded following
        ) as first_stage_sessions
    from stage_sessions
),

funnel as (
    select
        session_date,
        cast({{ dbt.date_trunc('week', 'session_date') }} as date) as week_start,
        cast({{ dbt.date_trunc('month', 'session_date') }} as date) as month_start,
        channel,
        funnel_stage,
        funnel_stage_order,
        sessions_count,
        previous_stage_sessions,
        sessions_reached,
        previous_stage_sessions - sessions_reached as drop_off_sessions,
        cast(sessions_reached as double) / nullif(previous_stage_sessions, 0)
            as stage_conversion_rate,
        cast(previous_stage_sessions - sessions_reached as double)
        / nullif(previous_stage_sessions, 0) as drop_off_rate,
        cast(sessions_reached as double) / nullif(first_stage_sessions, 0)
            as funnel_conversion_rate
    from previous_stages
)

select * from funnel
