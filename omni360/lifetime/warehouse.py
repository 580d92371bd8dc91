"""Reading the lifetime models' inputs from the warehouse and writing their predictions."""

from __future__ import annotations

import duckdb
import pandas as pd

from omni360.lifetime.clv import SCORE_COLUMNS, ClvSettings, LifetimeScores, score_customers
from omni360.lifetime.summary import DAYS_PER_WEEK

HISTORY_TABLE = "marts.fct_customer_purchase_history"
LIFETIME_TABLE = "marts.customer_lifetime_value"


def read_purchase_history(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The model inputs per customer: x, t_x and T in weeks (days / 7, exact), m_x."""
    return con.sql(
        f"""
        select
            customer_id,
            as_of_at,
            cast(repeat_frequency as double) as frequency,
            recency_days / {DAYS_PER_WEEK} as recency_weeks,
            age_days / {DAYS_PER_WEEK} as age_weeks,
            cast(average_repeat_purchase_value as double) as monetary_value
        from {HISTORY_TABLE}
        order by customer_id
        """
    ).df()


def score_purchase_history(history: pd.DataFrame, settings: ClvSettings) -> LifetimeScores:
    """Fit both models on the purchase history and predict every customer."""
    return score_customers(
        history["customer_id"].to_numpy(),
        history["frequency"].to_numpy(dtype=float),
        history["recency_weeks"].to_numpy(dtype=float),
        history["age_weeks"].to_numpy(dtype=float),
        history["monetary_value"].to_numpy(dtype=float, na_value=float("nan")),
        settings,
    )


def write_lifetime_values(
    con: duckdb.DuckDBPyConnection, history: pd.DataFrame, scores: LifetimeScores
) -> int:
    """Replace the lifetime table with one row per customer; returns the rows written.

    Columns: the predictions (NaN is written as null), the as-of time of the history, and
    the horizon and discount rate they were computed with.
    """
    frame = scores.scores.copy()
    frame["as_of_at"] = history["as_of_at"].to_numpy()
    frame["horizon_months"] = scores.settings.horizon_months
    frame["monthly_discount_rate"] = scores.settings.monthly_discount_rate
    columns = ",\n            ".join(
        [
            "cast(customer_id as varchar) as customer_id",
            *(f"cast({name} as double) as {name}" for name in SCORE_COLUMNS[1:]),
            "cast(as_of_at as timestamp) as as_of_at",
            "cast(horizon_months as integer) as horizon_months",
            "cast(monthly_discount_rate as double) as monthly_discount_rate",
        ]
    )
    schema = LIFETIME_TABLE.split(".")[0]
    con.register("lifetime_scores", frame)
    try:
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {schema}")
        con.execute(
            f"""
            create or replace table {LIFETIME_TABLE} as
            select
            {columns}
            from lifetime_scores
            order by customer_id
            """
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("lifetime_scores")
    return len(frame)
