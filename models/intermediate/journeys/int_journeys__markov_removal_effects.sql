{#
    Removal effect of every channel in the first-order Markov chain of
    int_journeys__markov_transitions. The probability of reaching
    (conversion) from each state is found by value iteration: start from 0
    everywhere, then repeatedly set every state's value to the sum over its
    exits of transition probability x value of the next state, (conversion)
    being worth 1 and (null) 0. `markov_iterations` (default 40) rounds are
    unrolled below. Removing a channel sends every transition into it to
    (null); its removal effect is 1 - P(conversion without it) / P(conversion).
#}
{%- set iterations = var('markov_iterations', 40) -%}

with

transitions as (
    select * from {{ ref('int_journeys__markov_transitions') }}
),

channels as (
    select distinct from_state as channel
    from transitions
    where from_state <> '(start)'
),

-- the full chain, then one chain per removed channel
scenarios as (
    select '(none)' as removed_channel

    union all

    select channel as removed_channel
    from channels
),

scenario_transitions as (
    select
        scenarios.removed_channel,
        transitions.from_state,
        transitions.to_state,
        transitions.transition_probability
    from scenarios
    cross join transitions
    where
        transitions.from_state <> scenarios.removed_channel
        and transitions.to_state <> scenarios.removed_channel
        and transitions.to_state <> '(null)'
),

iteration_0 as (
    select distinct
        removed_channel,
        from_state as state,
        cast(0 as double) as conversion_probability
    from scenario_transitions
),

{% for iteration in range(1, iterations + 1) %}
iteration_{{ iteration }} as (
    select
        scenario_transitions.removed_channel,
        scenario_transitions.from_state as state,
        sum(
            scenario_transitions.transition_probability
            * case
                when scenario_transitions.to_state = '(conversion)' then 1
                else coalesce(previous_iteration.conversion_probability, 0)
            end
        ) as conversion_probability
    from scenario_transitions
    left join iteration_{{ iteration - 1 }} as previous_iteration
        on
            scenario_transitions.removed_channel = previous_iteration.removed_channel
            and scenario_transitions.to_state = previous_iteration.state
    group by
        scenario_transitions.removed_channel,
        scenario_transitions.from_state
),

{% endfor %}
start_probabilities as (
    select
        removed_channel,
        conversion_probability
    from iteration_{{ iterations }}
    where state = '(start)'
),

full_chain as (
    select conversion_probability
    from start_probabilities
    where removed_channel = '(none)'
),

observed as (
    select
        cast(sum(case when to_state = '(conversion)' then transition_count else 0 end) as double)
        / sum(case when from_state = '(start)' then transition_count else 0 end)
            as observed_conversion_rate
    from transitions
),

removal_effects as (
    select
        channels.channel,
        full_chain.conversion_probability,
        observed.observed_conversion_rate,
        coalesce(removed.conversion_probability, 0) as conversion_probability_without_channel,
        1 - coalesce(removed.conversion_probability, 0)
        / nullif(full_chain.conversion_probability, 0) as removal_effect
    from channels
    cross join full_chain
    cross join observed
    left join start_probabilities as removed
        on channels.channel = removed.removed_channel
),

removal_effect_shares as (
    select
        channel,
        round(conversion_probability, 6) as conversion_probability,
        round(conversion_probability_without_channel, 6) as conversion_probability_without_channel,
        round(removal_effect, 6) as removal_effect,
        round(removal_effect / sum(removal_effect) over (), 6) as removal_effect_share,
        round(observed_conversion_rate, 6) as observed_conversion_rate
    from removal_effects
)

select * from removal_effect_shares
