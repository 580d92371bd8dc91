"""Transactions → the per-customer statistics the lifetime models read.

For every customer, over the transactions up to and including the observation end date:

- purchase days: the distinct dates with a purchase (transactions of one day are one purchase);
- frequency x: purchase days after the first (repeat purchases);
- recency t_x: time from the first to the last purchase day (0 when x = 0);
- age T: time from the first purchase day to the observation end date;
- monetary value: the average value of a repeat purchase day (the first day left out);
  NaN when x = 0.

Times are calendar days divided by `days_per_unit` (7: weeks, as in the BG/NBD papers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class PurchaseSummary:
    """One entry per customer, in the order of `customer_id` (sorted)."""

    customer_id: np.ndarray
    frequency: np.ndarray  # x: repeat purchase days
    recency: np.ndarray  # t_x
    age: np.ndarray  # T
    monetary_value: np.ndarray  # average value of a repeat purchase day; NaN when x = 0
    first_purchase_value: np.ndarray  # value of the first purchase day
    observation_end: date
    days_per_unit: float

    def __len__(self) -> int:
        return len(self.customer_id)

    def to_frame(self) -> pd.DataFrame:
        """The summary as a table, one row per customer."""
        return pd.DataFrame(
            {
                "customer_id": self.customer_id,
                "frequency": self.frequency,
                "recency": self.recency,
                "age": self.age,
                "monetary_value": self.monetary_value,
                "first_purchase_value": self.first_purchase_value,
            }
        )


def summarize_transactions(
    transactions: pd.DataFrame,
    observation_end: date,
    *,
    customer_column: str = "customer_id",
    date_column: str = "date",
    value_column: str = "value",
    days_per_unit: float = DAYS_PER_WEEK,
) -> PurchaseSummary:
    """Summarize transactions (one row each: customer, date, value) per customer.

    Transactions after `observation_end` are ignored; a customer whose first purchase is
    after it does not appear. Dates may be dates, timestamps or date strings; only the
    calendar date counts.
    """
    days = pd.to_datetime(transactions[date_column]).dt.normalize()
    end = pd.Timestamp(observation_end).normalize()
    frame = pd.DataFrame(
        {
            "customer_id": transactions[customer_column].to_numpy(),
            "day": days.to_numpy(),
            "value": pd.to_numeric(transactions[value_column]).astype(float).to_numpy(),
        }
    )
    frame = frame[frame["day"] <= end]
    per_day = frame.groupby(["customer_id", "day"], sort=True, as_index=False)["value"].sum()
    grouped = per_day.groupby("customer_id", sort=True)
    first_day = grouped["day"].transform("min")
    per_day["is_repeat"] = per_day["day"] > first_day
    customers = grouped.agg(
        first_day=("day", "min"),
        last_day=("day", "max"),
        purchase_days=("day", "size"),
    )
    first_value = per_day[~per_day["is_repeat"]].set_index("customer_id")["value"]
    repeat_value = per_day[per_day["is_repeat"]].groupby("customer_id")["value"].sum()

    frequency = customers["purchase_days"].to_numpy(dtype=float) - 1.0
    recency_days = (customers["last_day"] - customers["first_day"]).dt.days.to_numpy(float)
    age_days = (end - customers["first_day"]).dt.days.to_numpy(float)
    repeat_total = repeat_value.reindex(customers.index, fill_value=0.0).to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_total / frequency, np.nan)
    return PurchaseSummary(
        customer_id=customers.index.to_numpy(),
        frequency=frequency,
        recency=recency_days / days_per_unit,
        age=age_days / days_per_unit,
        monetary_value=monetary,
        first_purchase_value=first_value.reindex(customers.index).to_numpy(float),
        observation_end=end.date(),
        days_per_unit=days_per_unit,
    )
