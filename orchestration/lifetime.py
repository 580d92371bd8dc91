"""Predicted customer lifetime value as a Dagster asset (the models live in omni360.lifetime)."""

from typing import Any

import dagster as dg
from pydantic import Field

from omni360.lifetime.clv import (
    DEFAULT_HORIZON_MONTHS,
    DEFAULT_MONTHLY_DISCOUNT_RATE,
    DISCOUNT_ENV,
    HORIZON_ENV,
    ClvSettings,
    LifetimeScores,
)
from omni360.lifetime.warehouse import (
    read_purchase_history,
    score_purchase_history,
    write_lifetime_values,
)
from orchestration.resources import Warehouse

OWNER = "team:data-science"
PURCHASE_HISTORY = dg.AssetKey(["marts", "fct_customer_purchase_history"])


class LifetimeConfig(dg.Config):
    """CLV settings of a run; unset, they come from the environment, else the defaults."""

    horizon_months: int | None = Field(
        default=None,
        description=f"CLV horizon in months (else ${HORIZON_ENV}, else {DEFAULT_HORIZON_MONTHS}).",
    )
    monthly_discount_rate: float | None = Field(
        default=None,
        description=f"Monthly discount rate, 0.01 = 1% a month (else ${DISCOUNT_ENV}, else "
        f"{DEFAULT_MONTHLY_DISCOUNT_RATE}).",
    )


def _lifetime_metadata(scores: LifetimeScores) -> dict[str, Any]:
    bgnbd, gamma_gamma = scores.bgnbd, scores.gamma_gamma
    mean_p_alive = scores.mean_p_alive
    fits = {
        name: {
            "parameters": {k: round(v, 6) for k, v in fit.params.as_dict().items()},
            "log_likelihood": round(fit.log_likelihood, 3),
            "customers": fit.customers,
            "converged": fit.converged,
            "at_bound": list(fit.at_bound),
        }
        for name, fit in (("bg_nbd", bgnbd), ("gamma_gamma", gamma_gamma))
        if fit is not None
    }
    return {
        "dagster/row_count": scores.customers,
        "customers": scores.customers,
        "total predicted CLV": dg.MetadataValue.float(round(scores.total_clv, 2)),
        "mean p_alive": (
            dg.MetadataValue.float(round(mean_p_alive, 6))
            if mean_p_alive is not None
            else dg.MetadataValue.null()
        ),
        "horizon months": scores.settings.horizon_months,
        "monthly discount rate": dg.MetadataValue.float(scores.settings.monthly_discount_rate),
        "bg_nbd parameters": dg.MetadataValue.json(fits.get("bg_nbd", {}).get("parameters", {})),
        "gamma_gamma parameters": dg.MetadataValue.json(
            fits.get("gamma_gamma", {}).get("parameters", {})
        ),
        "fits": dg.MetadataValue.json(fits),
        "not fitted": dg.MetadataValue.json(list(scores.not_fitted)),
    }


@dg.asset(
    key=["marts", "customer_lifetime_value"],
    deps=[PURCHASE_HISTORY],
    group_name="marts",
    owners=[OWNER],
    kinds={"python", "duckdb"},
    pool="duckdb",
    description="`marts.customer_lifetime_value`: per customer P(alive), expected purchases, "
    "expected spend and CLV over the horizon (BG/NBD and Gamma-Gamma fitted on "
    "`fct_customer_purchase_history`; docs/metrics.md).",
)
def customer_lifetime_value(
    context: dg.AssetExecutionContext, config: LifetimeConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Fit BG/NBD and Gamma-Gamma on the purchase history, write every customer's CLV."""
    settings = ClvSettings.resolve(config.horizon_months, config.monthly_discount_rate)
    with warehouse.connection() as con:
        history = read_purchase_history(con)
        scores = score_purchase_history(history, settings)
        write_lifetime_values(con, history, scores)
    for reason in scores.not_fitted:
        context.log.warning(f"not fitted, predictions left null: {reason}")
    for fit in (scores.bgnbd, scores.gamma_gamma):
        if fit is not None and not fit.converged:
            context.log.warning(f"{type(fit).__name__} did not converge: {fit.message}")
    return dg.MaterializeResult(metadata=_lifetime_metadata(scores))
