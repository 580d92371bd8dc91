{#
    What each audience's messages change, treatment against holdout: one row
    per configured audience. An exposure is an entry of fct_audience_entries
    that starts an episode: the customer had no entry in the same audience in
    the var `audience_lift_window_days` (default 7) days before. It converts
    when the customer placed an order (int_customers__orders, any status)
    after the entry and at most that many days after it; its revenue is the
    amount of those orders (reporting currency). Holdout exposures (is_holdout)
    were never sent: the difference is the lift.

    conversion_rate = converters / members per group
    absolute_lift = treatment rate - holdout rate
    relative_lift = absolute_lift / holdout rate (null when the holdout rate is 0)
    revenue_per_member = revenue / members per group
    z_score = absolute_lift / sqrt(p (1 - p) (1 / n_treatment + 1 / n_holdout)),
              p = all converters / all members (pooled two-proportion z test);
              null when a group is empty or p is 0 or 1. |z| >= 1.96: significant
              at 5% (two-sided).
    Exposures whose window has not ended at int_customers__as_of are counted
    (open_window_members says how many): their conversions may still come.
#}
{%- set window_days = var('audience_lift_window_days', 7) -%}
{%- set audience_names = var('audiences', {}).keys() | list | sort -%}

with

audience_entries as (
    select * from {{ ref('fct_audience_entries') }}
),

orders as (
    select * from {{ ref('int_customers__orders') }}
    where customer_id is not null
),

as_of as (
    select * from {{ ref('int_customers__as_of') }}
),

configured_audiences as (
    {%- for audience_name in audience_names %}
    select '{{ audience_name }}' as audience_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

sequenced_entries as (
    select
        audience_name,
        customer_id,
        entered_at,
        entered_on,
        is_holdout,
        lag(entered_on) over (
            partition by audience_name, customer_id
            order by entered_on
        ) as previous_entered_on
    from audience_entries
),

entry_gaps as (
    select
        *,
        {{ dbt.datediff(
            'previous_entered_on', 'entered_on', 'day'
        ) }} as days_since_previous_entry
    from sequenced_entries
),

exposures as (
    select
        audience_name,
        customer_id,
        entered_at,
        is_holdout
    from entry_gaps
    where
        previous_entered_on is null
        or days_since_previous_entry > {{ window_days }}
),

exposure_outcomes as (
    select
        exposures.audience_name,
        exposures.customer_id,
        exposures.entered_at,
        exposures.is_holdout,
        max(
            case
                when {{ dbt.dateadd('day', window_days, 'exposures.entered_at') }} > as_of.as_of_at
                    then 1
                else 0
            end
        ) as is_window_open,
        count(orders.order_id) as order_count,
        coalesce(sum(orders.order_amount), 0) as revenue
    from exposures
    cross join as_of
    left join orders
        on
            exposures.customer_id = orders.customer_id
            and exposures.entered_at < orders.ordered_at
            and {{ dbt.dateadd('day', window_days, 'exposures.entered_at') }} >= orders.ordered_at
    group by
        exposures.audience_name,
        exposures.customer_id,
        exposures.entered_at,
        exposures.is_holdout
),

group_totals as (
    select
        audience_name,
        sum(case when not is_holdout then 1 else 0 end) as treatment_members,
        sum(case when is_holdout then 1 else 0 end) as holdout_members,
        sum(case when not is_holdout and order_count > 0 then 1 else 0 end)
            as treatment_converters,
        sum(case when is_holdout and order_count > 0 then 1 else 0 end) as holdout_converters,
        sum(case when not is_holdout then revenue else 0 end) as treatment_revenue,
        sum(case when is_holdout then revenue else 0 end) as holdout_revenue,
        sum(is_window_open) as open_window_members
    from exposure_outcomes
    group by audience_name
),

audience_totals as (
    select
        configured_audiences.audience_name,
        cast(coalesce(group_totals.treatment_members, 0) as {{ dbt.type_bigint() }})
            as treatment_members,
        cast(coalesce(group_totals.holdout_members, 0) as {{ dbt.type_bigint() }})
            as holdout_members,
        cast(coalesce(group_totals.treatment_converters, 0) as {{ dbt.type_bigint() }})
            as treatment_converters,
        cast(coalesce(group_totals.holdout_converters, 0) as {{ dbt.type_bigint() }})
            as holdout_converters,
        cast(coalesce(group_totals.treatment_revenue, 0) as decimal(18, 2)) as treatment_revenue,
        cast(coalesce(group_totals.holdout_revenue, 0) as decimal(18, 2)) as holdout_revenue,
        cast(coalesce(group_totals.open_window_members, 0) as {{ dbt.type_bigint() }})
            as open_window_members
    from configured_audiences
    left join group_totals
        on configured_audiences.audience_name = group_totals.audience_name
),

rates as (
    select
        *,
        cast(treatment_converters as {{ dbt.type_float() }})
        / nullif(treatment_members, 0) as treatment_conversion_rate,
        cast(holdout_converters as {{ dbt.type_float() }})
        / nullif(holdout_members, 0) as holdout_conversion_rate,
        cast(treatment_converters + holdout_converters as {{ dbt.type_float() }})
        / nullif(treatment_members + holdout_members, 0) as pooled_conversion_rate,
        cast(treatment_revenue as {{ dbt.type_float() }})
        / nullif(treatment_members, 0) as treatment_revenue_per_member,
        cast(holdout_revenue as {{ dbt.type_float() }})
        / nullif(holdout_members, 0) as holdout_revenue_per_member
    from audience_totals
),

lift as (
    select
        *,
        treatment_conversion_rate - holdout_conversion_rate as absolute_lift,
        (treatment_conversion_rate - holdout_conversion_rate)
        / nullif(holdout_conversion_rate, 0) as relative_lift,
        treatment_revenue_per_member - holdout_revenue_per_member
            as incremental_revenue_per_member,
        case
            when
                pooled_conversion_rate > 0
                and pooled_conversion_rate < 1
                and treatment_members > 0
                and holdout_members > 0
                then
                    (treatment_conversion_rate - holdout_conversion_rate)
                    / sqrt(
                        pooled_conversion_rate * (1 - pooled_conversion_rate)
                        * (1.0 / treatment_members + 1.0 / holdout_members)
                    )
        end as z_score
    from rates
)

select
    lift.audience_name,
    lift.treatment_members,
    lift.holdout_members,
    lift.treatment_converters,
    lift.holdout_converters,
    cast(lift.treatment_conversion_rate as decimal(18, 6)) as treatment_conversion_rate,
    cast(lift.holdout_conversion_rate as decimal(18, 6)) as holdout_conversion_rate,
    cast(lift.absolute_lift as decimal(18, 6)) as absolute_lift,
    cast(lift.relative_lift as decimal(18, 6)) as relative_lift,
    lift.treatment_revenue,
    lift.holdout_revenue,
    cast(lift.treatment_revenue_per_member as decimal(18, 6)) as treatment_revenue_per_member,
    cast(lift.holdout_revenue_per_member as decimal(18, 6)) as holdout_revenue_per_member,
    cast(lift.incremental_revenue_per_member as decimal(18, 6)) as incremental_revenue_per_member,
    cast(lift.z_score as decimal(18, 6)) as z_score,
    lift.open_window_members,
    {{ window_days }} as lift_window_days,
    as_of.as_of_at as measured_at
from lift
cross join as_of
