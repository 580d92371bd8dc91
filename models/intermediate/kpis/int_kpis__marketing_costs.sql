{#
    Marketing cost per day, channel and campaign, in the reporting currency
    (seed currency_rates). Two feeds carry costs: marketing spend (paid media,
    and the messaging platforms' invoices per day and campaign, plus fees
    without a campaign) and the per-message costs of the message reports
    (currency: var `message_cost_currency`, default UAH). The spend feed
    already invoices the message costs, so by default (var
    `message_costs_in_spend`, true) a day, channel and campaign with a spend
    row costs its spend, and message costs count only where the spend feed has
    no row (charges too small to invoice); with the var false, cost = spend +
    message costs. Spend days and message days are UTC dates.
#}
{%- set message_costs_in_spend = var('message_costs_in_spend', true) -%}
{%- set message_cost_currency = var('message_cost_currency', 'UAH') -%}

with

marketing_spend as (
    select * from {{ ref('stg_marketing_spend') }}
),

message_events as (
    select * from {{ ref('stg_message_events') }}
    where message_cost is not null
),

currency_rates as (
    select * from {{ ref('currency_rates') }}
),

spend_costs as (
    select
        marketing_spend.spend_date as cost_date,
        marketing_spend.channel,
        marketing_spend.campaign_id,
        cast(
            marketing_spend.spend * currency_rates.rate_to_reporting_currency
            as decimal(28, 6)
        ) as spend_amount,
        cast(0 as decimal(28, 6)) as message_cost_amount,
        1 as spend_row_count
    from marketing_spend
    left join currency_rates
        on marketing_spend.currency = currency_rates.currency
),

message_costs as (
    select
        cast(message_events.occurred_at as date) as cost_date,
        message_events.channel,
        message_events.campaign_id,
        cast(0 as decimal(28, 6)) as spend_amount,
        cast(
            message_events.message_cost * currency_rates.rate_to_reporting_currency
            as decimal(28, 6)
        ) as message_cost_amount,
        0 as spend_row_count
    from message_events
    left join currency_rates
        on currency_rates.currency = '{{ message_cost_currency }}'
),

costs as (
    select * from spend_costs
    union all
    select * from message_costs
),

daily_costs as (
    select
        cost_date,
        channel,
        campaign_id,
        sum(spend_amount) as spend_amount,
        sum(message_cost_amount) as message_cost_amount,
        sum(spend_row_count) as spend_row_count
    from costs
    group by cost_date, channel, campaign_id
),

marketing_costs as (
    select
        {{ generate_surrogate_key(['cost_date', 'channel', 'campaign_id']) }} as cost_id,
        cost_date,
        channel,
        campaign_id,
        cast(spend_amount as decimal(28, 6)) as spend_amount,
        cast(message_cost_amount as decimal(28, 6)) as message_cost_amount,
        cast(
            {%- if message_costs_in_spend %}
            case when spend_row_count > 0 then spend_amount else message_cost_amount end
            {%- else %}
            spend_amount + message_cost_amount
            {%- endif %}
            as decimal(28, 6)
        ) as cost_amount,
        spend_row_count > 0 as has_spend_row
    from daily_costs
)

select * from marketing_costs
