{#
    One row per customer: every surviving customer id of the identity graph,
    with best-known traits, identifiers, consents, orders, RFM, engagement,
    support, surveys and messages. A customer without a fact of some kind gets
    zero counts and null values for it.
#}
{%- set consent_channels = [
    'email', 'sms', 'viber', 'telegram', 'whatsapp', 'web_push', 'mobile_push'
] -%}
{%- set identifier_types = [
    'crm_contact_id', 'user_id', 'loyalty_card_id', 'email', 'phone',
    'telegram_id', 'viber_id', 'device_id', 'push_token', 'anonymous_id'
] -%}

with

customer_identifiers as (
    select * from {{ ref('int_customers__identifiers') }}
),

traits as (
    select * from {{ ref('int_customers__traits') }}
),

consents as (
    select * from {{ ref('int_customers__consents') }}
),

order_summary as (
    select * from {{ ref('int_customers__order_summary') }}
),

rfm as (
    select * from {{ ref('int_customers__rfm') }}
),

engagement as (
    select * from {{ ref('int_customers__engagement') }}
),

support as (
    select * from {{ ref('int_customers__support') }}
),

surveys as (
    select * from {{ ref('int_customers__surveys') }}
),

messages as (
    select * from {{ ref('int_customers__messages') }}
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

customers as (
    select
        customer_identifiers.customer_id,

        -- traits
        traits.first_name,
        traits.last_name,
        traits.birth_date,
        traits.city,
        traits.email as primary_email,
        traits.phone as primary_phone,
        traits.user_id as primary_user_id,
        traits.loyalty_card_id as primary_loyalty_card_id,
        traits.telegram_id as primary_telegram_id,
        traits.viber_id as primary_viber_id,
        traits.crm_contact_id as primary_crm_contact_id,

        -- identifiers
        customer_identifiers.identifier_count,
        {%- for identifier_type in identifier_types %}
        customer_identifiers.{{ identifier_type }}_count,
        {%- endfor %}
        customer_identifiers.first_seen_at,
        customer_identifiers.last_seen_at,

        -- channels and engagement
        coalesce(engagement.channels_used_count, 0) as channels_used_count,
        engagement.channels_used,
        coalesce(engagement.is_multichannel, false) as is_multichannel,
        engagement.preferred_channel,
        engagement.preferred_channel_score_90d,
        coalesce(engagement.engagement_score_90d, 0) as engagement_score_90d,
        coalesce(engagement.engagement_score_all_time, 0) as engagement_score_all_time,
        engagement.first_active_at,
        engagement.last_active_at,

        -- consents
        {%- for channel in consent_channels %}
        consents.is_{{ channel }}_opted_in,
        {%- endfor %}
        coalesce(consents.opted_in_channel_count, 0) as opted_in_channel_count,
        consents.consent_updated_at,

        -- orders
        coalesce(order_summary.order_count, 0) as order_count,
        coalesce(order_summary.completed_order_count, 0) as completed_order_count,
        coalesce(order_summary.cancelled_order_count, 0) as cancelled_order_count,
        coalesce(order_summary.returned_order_count, 0) as returned_order_count,
        coalesce(order_summary.gross_revenue, 0) as gross_revenue,
        coalesce(order_summary.net_revenue, 0) as net_revenue,
        order_summary.average_order_value,
        order_summary.revenue_currency,
        order_summary.first_order_date,
        order_summary.last_order_date,
        order_summary.days_since_last_order,
        coalesce(order_summary.order_channel_count, 0) as order_channel_count,
        order_summary.order_channels,

        -- RFM
        rfm.recency_days as rfm_recency_days,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.rfm_cell,
        rfm.rfm_segment,

        -- support and surveys
        coalesce(support.ticket_count, 0) as support_ticket_count,
        coalesce(support.open_ticket_count, 0) as open_support_ticket_count,
        coalesce(support.support_contact_count, 0) as support_contact_count,
        support.last_ticket_opened_at,
        coalesce(surveys.survey_response_count, 0) as survey_response_count,
        surveys.last_nps_score,
        surveys.last_nps_responded_at,
        surveys.last_ces_score,
        surveys.last_ces_responded_at,
        surveys.last_csat_score,
        surveys.last_csat_responded_at,

        -- messages
        coalesce(messages.messages_sent_count, 0) as messages_sent_count,
        coalesce(messages.messages_received_count, 0) as messages_received_count,
        coalesce(messages.messages_opened_count, 0) as messages_opened_count,
        coalesce(messages.messages_clicked_count, 0) as messages_clicked_count,
        messages.last_message_received_at,

        as_of.as_of_at
    from customer_identifiers
    cross join as_of
    left join traits
        on customer_identifiers.customer_id = traits.customer_id
    left join consents
        on customer_identifiers.customer_id = consents.customer_id
    left join order_summary
        on customer_identifiers.customer_id = order_summary.customer_id
    left join rfm
        on customer_identifiers.customer_id = rfm.customer_id
    left join engagement
        on customer_identifiers.customer_id = engagement.customer_id
    left join support
        on customer_identifiers.customer_id = support.customer_id
    left join surveys
        on customer_identifiers.customer_id = surveys.customer_id
    left join messages
        on customer_identifiers.customer_id = messages.customer_id
)

select * from customers
