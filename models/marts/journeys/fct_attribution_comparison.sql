{#
    Conversions and revenue credited to every channel and campaign by each
    attribution model (fct_attribution), side by side. Every model's columns
    add up to all conversions and all revenue of fct_journeys.
#}
{%- set attribution_models = [
    'first_touch', 'last_touch', 'linear', 'time_decay', 'position_based', 'markov'
] -%}

with

attribution as (
    select * from {{ ref('fct_attribution') }}
),

removal_effects as (
    select * from {{ ref('int_journeys__markov_removal_effects') }}
),

channel_campaigns as (
    select
        channel,
        campaign_id,
        count(*) as touches_count,
        count(distinct order_id) as conversions_touched,
        {%- for attribution_model in attribution_models %}
        sum({{ attribution_model }}_credit) as {{ attribution_model }}_conversions,
        sum({{ attribution_model }}_credit * revenue) as {{ attribution_model }}_revenue
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from attribution
    group by channel, campaign_id
),

comparison as (
    select
        channel_campaigns.*,
        removal_effects.removal_effect as channel_removal_effect
    from channel_campaigns
    left join removal_effects
        on channel_campaigns.channel = removal_effects.channel
)

select * from comparison
