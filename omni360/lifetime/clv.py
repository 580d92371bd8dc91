"""Customer lifetime value over a horizon, and scoring a whole customer base.

CLV of a customer over H months at a monthly discount rate d (time in weeks, a month being
365.25 / 12 / 7 ≈ 4.348 weeks, τ_m = m months after the as-of time T):

    CLV_H = Σ_{m=1..H} E[M] · (E[Y(τ_m)] - E[Y(τ_{m-1})]) / (1 + d)^m

- E[Y(τ)]: BG/NBD expected purchases in (T, T + τ] given x, t_x, T (`bgnbd.expected_purchases`),
  so E[Y(τ_m)] - E[Y(τ_{m-1})] is the number of purchases expected in month m;
- E[M]: Gamma-Gamma expected value of a purchase given x and m_x
  (`gamma_gamma.expected_average_spend`);
- purchases of month m are discounted as if they happened at its end, by (1 + d)^m.

With d = 0 this is E[M] · E[Y(τ_H)]. Residual value only: the purchases already made are not
counted, and neither margin nor costs are applied (the value is revenue, in the currency of m_x).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from omni360.lifetime.bgnbd import (
    BgNbdFit,
    BgNbdParams,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from omni360.lifetime.gamma_gamma import (
    GammaGammaFit,
    expected_average_spend,
    fit_gamma_gamma,
)

WEEKS_PER_MONTH = 365.25 / 12 / 7
DEFAULT_HORIZON_MONTHS = 12
DEFAULT_MONTHLY_DISCOUNT_RATE = 0.01
HORIZON_ENV = "OMNI360_CLV_HORIZON_MONTHS"
DISCOUNT_ENV = "OMNI360_CLV_MONTHLY_DISCOUNT_RATE"
# Fewer customers with a repeat purchase than this and a model is not fitted (no predictions).
MIN_REPEAT_CUSTOMERS = 10

SCORE_COLUMNS = (
    "customer_id",
    "p_alive",
    "expected_purchases_horizon",
    "expected_average_spend",
    "clv_horizon",
)


@dataclass(frozen=True)
class ClvSettings:
    """The CLV horizon in months and the monthly discount rate."""

    horizon_months: int = DEFAULT_HORIZON_MONTHS
    monthly_discount_rate: float = DEFAULT_MONTHLY_DISCOUNT_RATE

    def __post_init__(self) -> None:
        if int(self.horizon_months) != self.horizon_months or self.horizon_months < 1:
            raise ValueError(f"horizon_months must be a whole number >= 1: {self.horizon_months}")
        if not 0.0 <= self.monthly_discount_rate < 1.0:
            raise ValueError(
                f"monthly_discount_rate must be in [0, 1): {self.monthly_discount_rate}"
            )

    @classmethod
    def resolve(
        cls, horizon_months: int | None = None, monthly_discount_rate: float | None = None
    ) -> ClvSettings:
        """Arguments win over `OMNI360_CLV_HORIZON_MONTHS` / `OMNI360_CLV_MONTHLY_DISCOUNT_RATE`,
        which win over the defaults (12 months, 0.01 a month)."""
        if horizon_months is None:
            horizon_months = int(os.environ.get(HORIZON_ENV, DEFAULT_HORIZON_MONTHS))
        if monthly_discount_rate is None:
            monthly_discount_rate = float(
                os.environ.get(DISCOUNT_ENV, DEFAULT_MONTHLY_DISCOUNT_RATE)
            )
        return cls(int(horizon_months), float(monthly_discount_rate))


@dataclass(frozen=True)
class ClvResult:
    """Per customer: purchases expected over the horizon (undiscounted) and the CLV."""

    expected_purchases: NDArray[np.float64]
    clv: NDArray[np.float64]


def customer_lifetime_value(
    params: BgNbdParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    expected_spend: ArrayLike,
    settings: ClvSettings,
    time_units_per_month: float = WEEKS_PER_MONTH,
) -> ClvResult:
    """CLV_H = Σ_{m=1..H} E[M] · (E[Y(τ_m)] - E[Y(τ_{m-1})]) / (1 + d)^m (see the module).

    `time_units_per_month`: the length of a month in the unit of t_x and T (weeks by default).
    """
    spend = np.asarray(expected_spend, dtype=float)
    previous = np.zeros(np.broadcast(np.asarray(x), np.asarray(t_x), np.asarray(T)).shape)
    discounted = np.zeros_like(previous)
    for month in range(1, settings.horizon_months + 1):
        cumulative = expected_purchases(params, month * time_units_per_month, x, t_x, T)
        discounted += (cumulative - previous) / (1.0 + settings.monthly_discount_rate) ** month
        previous = cumulative
    return ClvResult(expected_purchases=previous, clv=spend * discounted)


@dataclass(frozen=True)
class LifetimeScores:
    """Both models fitted on a customer base, and every customer's predictions."""

    settings: ClvSettings
    bgnbd: BgNbdFit | None
    gamma_gamma: GammaGammaFit | None
    scores: pd.DataFrame  # SCORE_COLUMNS; NaN predictions where a model was not fitted
    not_fitted: tuple[str, ...]  # why a model was not fitted (empty when both were)

    @property
    def customers(self) -> int:
        return len(self.scores)

    @property
    def total_clv(self) -> float:
        return float(self.scores["clv_horizon"].sum())

    @property
    def mean_p_alive(self) -> float | None:
        values = self.scores["p_alive"].dropna()
        return float(values.mean()) if len(values) else None


def score_customers(
    customer_id: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    settings: ClvSettings,
) -> LifetimeScores:
    """Fit BG/NBD on (x, t_x, T) and Gamma-Gamma on (x, m_x), then predict every customer.

    A model is fitted only with at least MIN_REPEAT_CUSTOMERS customers who bought again
    (and, for Gamma-Gamma, whose fit gives q > 1); otherwise its predictions are NaN and
    `not_fitted` says why. p_alive and expected purchases need BG/NBD; expected spend needs
    Gamma-Gamma; CLV needs both. A customer with x > 0 but no m_x gets the population mean
    spend.
    """
    ids = np.asarray(customer_id)
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    monetary = np.asarray(monetary_value, dtype=float)
    nan = np.full(len(ids), np.nan)
    p_alive, purchases, spend, clv = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    reasons: list[str] = []

    bgnbd_fit = None
    repeaters = int(np.count_nonzero(x > 0))
    if repeaters >= MIN_REPEAT_CUSTOMERS:
        bgnbd_fit = fit_bgnbd(x, t_x, T)
        p_alive = probability_alive(bgnbd_fit.params, x, t_x, T)
    else:
        reasons.append(
            f"BG/NBD: {repeaters} customers with a repeat purchase, "
            f"fewer than {MIN_REPEAT_CUSTOMERS}"
        )

    gg_fit = None
    spenders = int(np.count_nonzero((x > 0) & np.isfinite(monetary) & (monetary > 0)))
    if spenders >= MIN_REPEAT_CUSTOMERS:
        gg_fit = fit_gamma_gamma(x, monetary)
        if gg_fit.params.q > 1.0:
            # a customer whose m_x is missing gets the population mean, as if x = 0
            known = np.isfinite(monetary)
            spend = expected_average_spend(
                gg_fit.params, np.where(known, x, 0.0), np.where(known, monetary, 0.0)
            )
        else:
            reasons.append(f"Gamma-Gamma: fitted q = {gg_fit.params.q:.4g} <= 1, no mean spend")
    else:
        reasons.append(
            f"Gamma-Gamma: {spenders} customers with repeat spend, "
            f"fewer than {MIN_REPEAT_CUSTOMERS}"
        )

    if bgnbd_fit is not None:
        result = customer_lifetime_value(bgnbd_fit.params, x, t_x, T, spend, settings)
        purchases, clv = result.expected_purchases, result.clv
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "p_alive": p_alive,
            "expected_purchases_horizon": purchases,
            "expected_average_spend": spend,
            "clv_horizon": clv,
        },
        columns=list(SCORE_COLUMNS),
    )
    return LifetimeScores(settings, bgnbd_fit, gg_fit, scores, tuple(reasons))
