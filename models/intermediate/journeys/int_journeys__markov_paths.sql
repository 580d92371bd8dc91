{#
    Every journey as a path of channel steps for the Markov model: the
    channels of its touches in order, a run of touches on one channel being
    one step. Converting journeys (int_journeys__conversion_touches) end in a
    conversion, open ones (int_journeys__non_converting_touches) in null.
#}
with

conversion_touches as (
    select * from {{ ref('int_journeys__conversion_touches') }}
),

non_converting_touches as (
    select * from {{ ref('int_journeys__non_converting_touches') }}
),

path_steps as (
    select distinct
        'conversion' as journey_type,
        order_id as journey_id,
        step_index,
        channel
    from conversion_touches

    union all

    select distinct
        'open' as journey_type,
        customer_id as journey_id,
        step_index,
        channel
    from non_converting_touches
),

counted_steps as (
    select
        journey_type,
        journey_id,
        step_index,
        channel,
        journey_type = 'conversion' as is_converting,
        max(step_index) over (partition by journey_type, journey_id) as steps_count
    from path_steps
)

select * from counted_steps
