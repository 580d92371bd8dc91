{#
    Web and app sessions (see int_journeys__session_events for how events are
    cut into sessions): where the visit came from (source, medium and campaign
    of its first event; else the referring site; else direct), what happened in
    it, and how far it went in the funnel: view, cart, checkout, purchase (a
    tracked order that is in the orders feed).
#}
with

session_events as (
    select * from {{ ref('int_journeys__session_events') }}
),

journey_touch_types as (
    select * from {{ ref('journey_touch_types') }}
),

orders as (
    select * from {{ ref('int_customers__orders') }}
),

referrer_channels as (
    select * from {{ ref('referrer_channels') }}
),

funnel_stages as (
    select distinct
        funnel_stage,
        funnel_stage_order
    from journey_touch_types
    where funnel_stage is not null
),

-- a tracked purchase reaches the purchase stage only when its order was placed
staged_events as (
    select
        session_events.*,
        orders.order_id as placed_order_id,
        orders.order_amount as placed_order_amount,
        case
            when journey_touch_types.funnel_stage = 'purchase' and orders.order_id is null
                then null
            else journey_touch_types.funnel_stage_order
        end as funnel_stage_order
    from session_events
    left join journey_touch_types
        on session_events.touch_type = journey_touch_types.touch_type
    left join orders
        on
            session_events.order_id = orders.order_id
            and session_events.touch_type = 'purchase'
),

session_orders as (
    select distinct
        session_id,
        placed_order_id,
        placed_order_amount
    from staged_events
    where placed_order_id is not null
),

session_order_totals as (
    select
        session_id,
        count(*) as order_count,
        sum(placed_order_amount) as revenue
    from session_orders
    group by session_id
),

session_facts as (
    select
        session_id,
        visitor_type,
        visitor_id,
        channel,
        max(customer_id) as customer_id,
        max(case when event_number = 1 then anonymous_id end) as anonymous_id,
        min(occurred_at) as session_started_at,
        max(occurred_at) as session_ended_at,
        max(case when event_number = 1 then device_type end) as device_type,
        max(case when event_number = 1 then page_url end) as landing_page_url,
        max(case when event_number = 1 then referrer end) as referrer,
        max(case when event_number = 1 then campaign_source end) as campaign_source,
        max(case when event_number = 1 then campaign_medium end) as campaign_medium,
        max(case when event_number = 1 then campaign_name end) as campaign_name,
        max(case when event_number = 1 then campaign_channel end) as campaign_channel,
        count(*) as event_count,
        sum(
            case when touch_type in ('page_view', 'screen_view') then 1 else 0 end
        ) as page_view_count,
        sum(case when touch_type = 'product_view' then 1 else 0 end) as product_view_count,
        sum(case when touch_type = 'add_to_cart' then 1 else 0 end) as add_to_cart_count,
        sum(case when touch_type = 'checkout' then 1 else 0 end) as checkout_count,
        max(coalesce(funnel_stage_order, 0)) as funnel_stage_order
    from staged_events
    group by
        session_id,
        visitor_type,
        visitor_id,
        channel
),

session_hosts as (
    select
        *,
        lower({{ dbt.split_part('referrer', "'/'", 3) }}) as referrer_host,
        lower({{ dbt.split_part('landing_page_url', "'/'", 3) }}) as landing_host
    from session_facts
),

-- the most specific known referring site (longest host) that the referrer matches
referrer_matches as (
    select
        session_hosts.session_id,
        referrer_channels.channel,
        row_number() over (
            partition by session_hosts.session_id
            order by length(referrer_channels.referrer_host) desc
        ) as match_rank
    from session_hosts
    inner join referrer_channels
        on
            session_hosts.referrer_host = referrer_channels.referrer_host
            or session_hosts.referrer_host
            like {{ dbt.concat(["'%.'", 'referrer_channels.referrer_host']) }}
),

sessions as (
    select
        session_hosts.session_id,
        session_hosts.visitor_type,
        session_hosts.visitor_id,
        session_hosts.customer_id,
        session_hosts.anonymous_id,
        session_hosts.channel,
        session_hosts.session_started_at,
        session_hosts.session_ended_at,
        cast(session_hosts.session_started_at as date) as session_date,
        {{ dbt.datediff(
            'session_hosts.session_started_at', 'session_hosts.session_ended_at', 'second'
        ) }} as duration_seconds,
        session_hosts.device_type,
        session_hosts.landing_page_url,
        session_hosts.referrer,
        session_hosts.referrer_host,
        session_hosts.campaign_source,
        session_hosts.campaign_medium,
        session_hosts.campaign_name,
        session_hosts.campaign_channel,
        case
            when session_hosts.campaign_channel is not null then session_hosts.campaign_channel
            when referrer_matches.channel is not null then referrer_matches.channel
            when
                session_hosts.referrer_host is not null
                and session_hosts.referrer_host <> coalesce(session_hosts.landing_host, '')
                then 'referral'
            else 'direct'
        end as traffic_channel,
        session_hosts.event_count,
        session_hosts.page_view_count,
        session_hosts.product_view_count,
        session_hosts.add_to_cart_count,
        session_hosts.checkout_count,
        coalesce(session_order_totals.order_count, 0) as order_count,
        coalesce(session_order_totals.revenue, 0) as revenue,
        funnel_stages.funnel_stage,
        session_hosts.funnel_stage_order,
        session_hosts.funnel_stage_order >= 1 as reached_view,
        session_hosts.funnel_stage_order >= 2 as reached_cart,
        session_hosts.funnel_stage_order >= 3 as reached_checkout,
        session_hosts.funnel_stage_order >= 4 as reached_purchase
    from session_hosts
    left join referrer_matches
        on
            session_hosts.session_id = referrer_matches.session_id
            and referrer_matches.match_rank = 1
    left join session_order_totals
        on session_hosts.session_id = session_order_totals.session_id
    left join funnel_stages
        on session_hosts.funnel_stage_order = funnel_stages.funnel_stage_order
)

select * from sessions
