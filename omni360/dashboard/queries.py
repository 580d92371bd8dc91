"""What each chart of the dashboard shows, read from the marts as pandas frames.

Every query reads a mart (or the sync engine's run log) and nothing else, so a chart can be
checked against the table it came from.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from omni360.db import relation_exists

KPI_VS_TARGETS = """
    select
        targets.kpi,
        catalog.unit,
        targets.better,
        kpis.period_start,
        kpis.kpi_value,
        targets.baseline,
        targets.target_12m,
        targets.alert_threshold
    from seeds.kpi_targets as targets
    inner join seeds.kpi_catalog as catalog on targets.kpi = catalog.kpi
    inner join marts.fct_kpis as kpis
        on targets.kpi = kpis.kpi
        and kpis.period_grain = 'month'
        and kpis.channel = 'all'
        and kpis.segment = 'all'
    order by targets.kpi, kpis.period_start
"""

FUNNEL = """
    select channel, funnel_stage, funnel_stage_order, sum(sessions_reached) as sessions
    from marts.fct_funnel
    group by channel, funnel_stage, funnel_stage_order
    order by channel, funnel_stage_order
"""

CHANNEL_MIX = """
    select date_trunc('month', occurred_at)::date as month_start, channel, count(*) as touches
    from marts.fct_touchpoints
    where
        customer_id is not null
        and occurred_at >= (
            select date_trunc('month', max(occurred_at)) - interval 11 month
            from marts.fct_touchpoints
        )
    group by all
    order by month_start, channel
"""

SWITCHING = """
    select
        month_start,
        cross_channel_conversion_rate,
        other_channel_conversion_rate,
        channel_switching_rate
    from marts.fct_cross_channel_metrics
    order by month_start
"""

ATTRIBUTION = """
    select
        channel,
        sum(first_touch_revenue) as first_touch,
        sum(last_touch_revenue) as last_touch,
        sum(linear_revenue) as linear,
        sum(time_decay_revenue) as time_decay,
        sum(position_based_revenue) as position_based,
        sum(markov_revenue) as markov
    from marts.fct_attribution_comparison
    group by channel
    order by last_touch desc
"""

TOP_PATHS = """
    select path_rank, channel_path, conversions, revenue
    from marts.fct_top_paths
    where path_rank <= ?
    order by path_rank
"""

COHORTS = """
    select cohort_month, months_since_first_purchase, cohort_size, retention_rate
    from marts.fct_retention_cohorts
    order by cohort_month, months_since_first_purchase
"""

MULTICHANNEL = """
    select
        arg_max(multichannel_repeat_purchase_rate, month_start) as multichannel_repeat_rate,
        arg_max(single_channel_repeat_purchase_rate, month_start) as single_channel_repeat_rate,
        arg_max(multichannel_clv, month_start) as multichannel_clv,
        arg_max(single_channel_clv, month_start) as single_channel_clv
    from marts.fct_cross_channel_metrics
"""

CUSTOMERS_BY_CHANNELS = """
    select is_multichannel, count(*) as customers
    from marts.dim_customers
    group by is_multichannel
"""

SYNC_HEALTH = """
    select
        sync_name,
        arg_max(confirmed, started_at) as confirmed,
        arg_max(failed, started_at) as failed,
        arg_max(in_doubt, started_at) as in_doubt,
        arg_max(consent_blocked, started_at) as consent_blocked,
        arg_max(frequency_capped, started_at) as frequency_capped
    from reverse_etl.sync_runs
    where not dry_run
    group by sync_name
    order by sync_name
"""


def read(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def sync_health(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The latest real run of every sync; empty when no sync has run against this warehouse."""
    if not relation_exists(con, "reverse_etl", "sync_runs"):
        return pd.DataFrame()
    return read(con, SYNC_HEALTH)
