{#
    First-order Markov chain of the journeys: how often a journey went from
    one state to the next, and the share of the state's exits that went there
    (the transition probability). States: (start), every channel, and the two
    ends, (conversion) and (null).
#}
with

paths as (
    select * from {{ ref('int_journeys__markov_paths') }}
),

next_steps as (
    select
        *,
        lead(channel) over (
            partition by journey_type, journey_id
            order by step_index
        ) as next_channel
    from paths
),

transitions as (
    select
        '(start)' as from_state,
        channel as to_state
    from next_steps
    where step_index = 1

    union all

    select
        channel as from_state,
        coalesce(
            next_channel,
            case when is_converting then '(conversion)' else '(null)' end
        ) as to_state
    from next_steps
),

transition_counts as (
    select
        from_state,
        to_state,
        count(*) as transition_count
    from transitions
    group by from_state, to_state
),

transition_probabilities as (
    select
        from_state,
        to_state,
        transition_count,
        cast(transition_count as double)
        / sum(transition_count) over (partition by from_state) as transition_probability
    from transition_counts
)

select * from transition_probabilities
