"""Lifetime models: BG/NBD and Gamma-Gamma validated on CDNOW, CLV, and the Dagster asset."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.special import betaln

from omni360.db import connect
from omni360.lifetime import bgnbd, gamma_gamma
from omni360.lifetime.bgnbd import BgNbdParams
from omni360.lifetime.clv import (
    DISCOUNT_ENV,
    HORIZON_ENV,
    MIN_REPEAT_CUSTOMERS,
    WEEKS_PER_MONTH,
    ClvSettings,
    customer_lifetime_value,
    score_customers,
)
from omni360.lifetime.gamma_gamma import GammaGammaParams
from omni360.lifetime.summary import PurchaseSummary, summarize_transactions
from omni360.lifetime.warehouse import (
    HISTORY_TABLE,
    LIFETIME_TABLE,
    read_purchase_history,
    score_purchase_history,
    write_lifetime_values,
)
from tests.conftest import PipelineRun

CDNOW = Path(__file__).parent / "fixtures" / "CDNOW_sample.txt"
CDNOW_CALIBRATION_END = date(1997, 9, 30)
# Fader, Hardie & Lee (2005), "Counting your customers the easy way", CDNOW sample.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LOG_LIKELIHOOD = -9582.4
# Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves", CDNOW sample.
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}

# Parameter sets for the property checks: CDNOW-like (a < 1), a > 1, a + b < 1.
PARAMETER_SETS = [
    BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426),
    BgNbdParams(r=1.4, alpha=12.0, a=2.5, b=8.0),
    BgNbdParams(r=0.6, alpha=3.0, a=0.3, b=0.5),
]


@pytest.fixture(scope="module")
def cdnow() -> PurchaseSummary:
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "cds", "value"],
        dtype={"customer_id": str, "date": str},
    )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return summarize_transactions(raw, CDNOW_CALIBRATION_END)


@pytest.fixture(scope="module")
def cdnow_bgnbd(cdnow: PurchaseSummary) -> bgnbd.BgNbdFit:
    return bgnbd.fit_bgnbd(cdnow.frequency, cdnow.recency, cdnow.age)


# --- summary ------------------------------------------------------------------------------


def test_summary_of_a_hand_made_transaction_list() -> None:
    transactions = pd.DataFrame(
        [
            ("A", "2024-01-01", 10.0),
            ("A", "2024-01-01", 5.0),  # same day: one purchase worth 15
            ("A", "2024-01-15", 20.0),
            ("A", "2024-01-29", 40.0),
            ("A", "2024-03-01", 99.0),  # after the observation end: ignored
            ("B", "2024-02-05", 7.0),
            ("C", "2024-02-20", 8.0),  # first purchase after the end: no row
            ("D", "2024-01-08", 3.0),
            ("D", "2024-01-08", 4.0),
        ],
        columns=["customer_id", "date", "value"],
    )
    summary = summarize_transactions(transactions, date(2024, 2, 12)).to_frame()
    summary = summary.set_index("customer_id")
    assert list(summary.index) == ["A", "B", "D"]
    # A: purchase days Jan 1, 15, 29 → x = 2, t_x = 28 days, T = 42 days; m = (20 + 40) / 2.
    assert summary.loc["A", ["frequency", "recency", "age"]].tolist() == [2.0, 4.0, 6.0]
    assert summary.loc["A", "monetary_value"] == 30.0
    assert summary.loc["A", "first_purchase_value"] == 15.0
    # B: one purchase a week before the end.
    assert summary.loc["B", ["frequency", "recency", "age"]].tolist() == [0.0, 0.0, 1.0]
    assert np.isnan(summary.loc["B", "monetary_value"])
    # D: two transactions on one day are one purchase, no repeat.
    assert summary.loc["D", ["frequency", "recency", "age"]].tolist() == [0.0, 0.0, 5.0]
    assert summary.loc["D", "first_purchase_value"] == 7.0


def test_cdnow_summary(cdnow: PurchaseSummary) -> None:
    assert len(cdnow) == 2357
    assert int((cdnow.frequency > 0).sum()) == 946
    assert int(cdnow.frequency.sum()) == 2457
    assert cdnow.age.max() == pytest.approx(272 / 7)  # first purchase on 1 January 1997
    assert cdnow.age.min() == pytest.approx(27.0)  # on 31 March 1997
    assert np.all((cdnow.recency >= 0) & (cdnow.recency <= cdnow.age))


# --- BG/NBD -------------------------------------------------------------------------------


def test_bgnbd_fit_on_cdnow_matches_the_published_estimates(
    cdnow_bgnbd: bgnbd.BgNbdFit,
) -> None:
    fit = cdnow_bgnbd
    assert fit.converged and not fit.at_bound
    for name, published in PUBLISHED_BGNBD.items():
        fitted = getattr(fit.params, name)
        assert abs(fitted - published) / published < 0.01, (name, fitted, published)
    assert fit.log_likelihood == pytest.approx(PUBLISHED_BGNBD_LOG_LIKELIHOOD, abs=0.1)


def test_bgnbd_worked_example(cdnow_bgnbd: bgnbd.BgNbdFit) -> None:
    # The authors' worked example: x = 2, t_x = 30.43, T = 38.86 → 1.226 purchases in the
    # next 39 weeks.
    expected = bgnbd.expected_purchases(cdnow_bgnbd.params, 39.0, 2, 30.43, 38.86)
    assert float(expected) == pytest.approx(1.226, abs=0.001)


def test_bgnbd_log_likelihood_is_the_sum_of_the_paper_formula() -> None:
    # Equation 6 evaluated literally (no log space) on small values.
    r, alpha, a, b = 0.5, 2.0, 0.8, 3.0
    x, t_x, T = np.array([0.0, 1.0, 4.0]), np.array([0.0, 2.5, 6.0]), np.array([3.0, 5.0, 8.0])
    from scipy.special import gamma as g

    a1 = g(r + x) * alpha**r / g(r)
    a2 = g(a + b) * g(b + x) / (g(b) * g(a + b + x))
    a3 = (1 / (alpha + T)) ** (r + x)
    a4 = np.where(x > 0, a / np.maximum(b + x - 1, 1e-300) * (1 / (alpha + t_x)) ** (r + x), 0)
    literal = np.log(a1 * a2 * (a3 + a4)).sum()
    assert bgnbd.log_likelihood(BgNbdParams(r, alpha, a, b), x, t_x, T) == pytest.approx(literal)


def test_bgnbd_gradient_matches_finite_differences(cdnow: PurchaseSummary) -> None:
    log_params = np.log([0.4, 3.0, 1.2, 2.0])
    x, t_x, T = cdnow.frequency, cdnow.recency, cdnow.age

    def total(theta: np.ndarray) -> float:
        return float(bgnbd._log_likelihood_terms(theta, x, t_x, T, gradient=False)[0].sum())

    _, grad = bgnbd._log_likelihood_terms(log_params, x, t_x, T, gradient=True)
    step = 1e-6
    numeric = [
        (total(log_params + step * e) - total(log_params - step * e)) / (2 * step)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad.sum(axis=0), numeric, rtol=1e-5)


def test_p_alive_is_one_without_repeat_purchases() -> None:
    for params in PARAMETER_SETS:
        p = bgnbd.probability_alive(params, [0, 0, 0], [0, 0, 0], [1.0, 10.0, 500.0])
        assert np.all(p == 1.0)


@pytest.mark.parametrize("params", PARAMETER_SETS)
def test_p_alive_is_a_probability_and_moves_the_right_way(params: BgNbdParams) -> None:
    recency = np.linspace(0.5, 30.0, 60)
    p_by_recency = bgnbd.probability_alive(params, 3, recency, 30.0)
    assert np.all((p_by_recency > 0) & (p_by_recency <= 1))
    assert np.all(np.diff(p_by_recency) > 0)  # a more recent last purchase: more likely alive
    age = np.linspace(10.0, 200.0, 60)
    p_by_age = bgnbd.probability_alive(params, 3, 10.0, age)
    assert np.all(np.diff(p_by_age) < 0)  # longer silence since the last purchase: less likely
    frequency = np.arange(1, 30)
    p_by_frequency = bgnbd.probability_alive(params, frequency, 20.0, 20.0)
    assert np.all(np.diff(p_by_frequency) > 0)  # bought just now: more purchases, more alive


@pytest.mark.parametrize("params", PARAMETER_SETS)
def test_expected_purchases_grow_with_time_and_frequency(params: BgNbdParams) -> None:
    horizon = np.linspace(0.0, 104.0, 40)
    by_time = [float(bgnbd.expected_purchases(params, t, 2, 15.0, 20.0)) for t in horizon]
    assert by_time[0] == 0.0
    assert np.all(np.diff(by_time) > 0)
    by_frequency = bgnbd.expected_purchases(params, 26.0, np.arange(0, 20), 20.0, 20.0)
    assert np.all(np.diff(by_frequency) > 0)


def _expected_purchases_by_integration(
    params: BgNbdParams, t: float, x: float, t_x: float, T: float
) -> float:
    """P(alive) · E over p ~ Beta(a, b + x) of (1 - ((α+T) / (α+T+p t))^(r+x)) / p.

    Given alive at T, λ ~ Gamma(r + x, α + T) and p ~ Beta(a, b + x); a customer alive with
    (λ, p) makes (1 - exp(-λ p t)) / p purchases in t on average. Integrated over u = p^a so
    the Beta density's singularity at 0 goes away.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    shape = r + x

    def integrand(u: float) -> float:
        p = u ** (1.0 / a)
        if p == 0.0:
            per_p = shape * t / (alpha + T)
        else:
            per_p = -np.expm1(-shape * np.log1p(p * t / (alpha + T))) / p
        return per_p * (1.0 - p) ** (b + x - 1.0)

    value, _ = quad(integrand, 0.0, 1.0, epsabs=1e-12, epsrel=1e-10, limit=200)
    mean = value / (a * np.exp(betaln(a, b + x)))
    return mean * float(bgnbd.probability_alive(params, x, t_x, T))


@pytest.mark.parametrize("params", PARAMETER_SETS)
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 0.0), (0, 0.0, 30.0), (3, 12.0, 30.0)])
def test_expected_purchases_closed_form_matches_integration(
    params: BgNbdParams, x: int, t_x: float, T: float
) -> None:
    for t in (4.0, 52.0):
        closed = float(bgnbd.expected_purchases(params, t, x, t_x, T))
        integrated = _expected_purchases_by_integration(params, t, x, t_x, T)
        assert closed == pytest.approx(integrated, rel=1e-6)


def test_expected_purchases_without_dropout_are_poisson() -> None:
    # a → 0, b large: p ≈ 0, nobody drops out; λ | data ~ Gamma(r + x, α + T).
    params = BgNbdParams(r=1.4, alpha=12.0, a=1e-5, b=3e4)
    expected = bgnbd.expected_purchases(params, 52.0, 4, 10.0, 17.0)
    assert float(expected) == pytest.approx((1.4 + 4) / (12.0 + 17.0) * 52.0, rel=1e-4)


def test_new_customer_expectation_matches_a_simulation() -> None:
    params = PARAMETER_SETS[1]
    rng = np.random.default_rng(11)
    n, t = 400_000, 20.0
    rate = rng.gamma(params.r, 1 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    purchases = rng.poisson(rate * t)
    # After every repeat purchase the customer leaves with probability p (never right after
    # the first one): at most a geometric number (1, 2, ...) of repeat purchases.
    possible = rng.geometric(dropout)
    simulated = np.minimum(purchases, possible).mean()
    closed = float(bgnbd.expected_purchases_new_customer(params, t))
    assert closed == pytest.approx(float(bgnbd.expected_purchases(params, t, 0, 0, 0)))
    assert closed == pytest.approx(simulated, rel=0.01)


def test_bgnbd_refuses_data_without_repeat_purchases() -> None:
    with pytest.raises(ValueError, match="repeat purchase"):
        bgnbd.fit_bgnbd([0, 0], [0, 0], [5, 6])
    with pytest.raises(ValueError, match="t_x <= T"):
        bgnbd.probability_alive(PARAMETER_SETS[0], [1], [6.0], [5.0])


# --- Gamma-Gamma --------------------------------------------------------------------------


def test_gamma_gamma_fit_on_cdnow_matches_the_published_estimates(
    cdnow: PurchaseSummary,
) -> None:
    # Customers with at least one repeat purchase; m_x = average value of the repeat purchase
    # days (the same summary as the BG/NBD fit).
    fit = gamma_gamma.fit_gamma_gamma(cdnow.frequency, cdnow.monetary_value)
    assert fit.customers == 946
    assert fit.converged and not fit.at_bound
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        fitted = getattr(fit.params, name)
        assert abs(fitted - published) / published < 0.01, (name, fitted, published)


def test_gamma_gamma_gradient_matches_finite_differences(cdnow: PurchaseSummary) -> None:
    x, m = gamma_gamma._fit_arrays(cdnow.frequency, cdnow.monetary_value)
    log_params = np.log([3.0, 2.0, 20.0])

    def total(theta: np.ndarray) -> float:
        return float(gamma_gamma._log_likelihood_terms(theta, x, m, gradient=False)[0].sum())

    _, grad = gamma_gamma._log_likelihood_terms(log_params, x, m, gradient=True)
    step = 1e-6
    numeric = [
        (total(log_params + step * e) - total(log_params - step * e)) / (2 * step)
        for e in np.eye(3)
    ]
    np.testing.assert_allclose(grad.sum(axis=0), numeric, rtol=1e-5)


def test_gamma_gamma_expected_spend_shrinks_towards_the_population_mean() -> None:
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = params.p * params.gamma / (params.q - 1)
    assert params.population_mean == pytest.approx(population)
    spend = gamma_gamma.expected_average_spend(
        params, [0, 1, 5, 50, 5000], [np.nan, 80, 80, 80, 80]
    )
    assert spend[0] == pytest.approx(population)
    # a weighted mean of the population mean and m_x, the weight of m_x growing with x
    assert np.all(np.diff(spend[1:]) > 0) and np.all(spend[1:] < 80) and spend[1] > population
    assert spend[-1] == pytest.approx(80, rel=1e-3)
    with pytest.raises(ValueError, match="q > 1"):
        gamma_gamma.expected_average_spend(GammaGammaParams(1.0, 0.9, 1.0), [1], [1.0])


# --- CLV ----------------------------------------------------------------------------------


def test_clv_is_discounted_expected_purchases_times_spend() -> None:
    params = PARAMETER_SETS[0]
    x, t_x, T, spend = np.array([0.0, 2.0, 7.0]), np.array([0, 10.0, 30.0]), 35.0, 40.0
    undiscounted = customer_lifetime_value(params, x, t_x, T, spend, ClvSettings(12, 0.0))
    horizon = bgnbd.expected_purchases(params, 12 * WEEKS_PER_MONTH, x, t_x, T)
    np.testing.assert_allclose(undiscounted.expected_purchases, horizon)
    np.testing.assert_allclose(undiscounted.clv, spend * horizon)
    one_month = customer_lifetime_value(params, x, t_x, T, spend, ClvSettings(1, 0.02))
    first = bgnbd.expected_purchases(params, WEEKS_PER_MONTH, x, t_x, T)
    np.testing.assert_allclose(one_month.clv, spend * first / 1.02)
    discounted = customer_lifetime_value(params, x, t_x, T, spend, ClvSettings(12, 0.01))
    longer = customer_lifetime_value(params, x, t_x, T, spend, ClvSettings(24, 0.01))
    assert np.all(discounted.clv < undiscounted.clv) and np.all(longer.clv > discounted.clv)
    np.testing.assert_allclose(discounted.expected_purchases, horizon)


def test_clv_settings_come_from_arguments_then_environment_then_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(HORIZON_ENV, raising=False)
    monkeypatch.delenv(DISCOUNT_ENV, raising=False)
    assert ClvSettings.resolve() == ClvSettings(12, 0.01)
    monkeypatch.setenv(HORIZON_ENV, "24")
    monkeypatch.setenv(DISCOUNT_ENV, "0.02")
    assert ClvSettings.resolve() == ClvSettings(24, 0.02)
    assert ClvSettings.resolve(6, 0.0) == ClvSettings(6, 0.0)
    with pytest.raises(ValueError):
        ClvSettings(0, 0.01)
    with pytest.raises(ValueError):
        ClvSettings(12, -0.01)


def test_scoring_cdnow_end_to_end(cdnow: PurchaseSummary) -> None:
    scores = score_customers(
        cdnow.customer_id,
        cdnow.frequency,
        cdnow.recency,
        cdnow.age,
        cdnow.monetary_value,
        ClvSettings(12, 0.01),
    )
    assert scores.not_fitted == () and scores.customers == 2357
    table = scores.scores
    assert table.notna().all().all()
    assert table["p_alive"].between(0, 1).all() and (table["clv_horizon"] >= 0).all()
    assert scores.gamma_gamma is not None
    assert scores.gamma_gamma.params.p == pytest.approx(PUBLISHED_GAMMA_GAMMA["p"], rel=0.01)


def test_too_little_data_leaves_predictions_null() -> None:
    few = MIN_REPEAT_CUSTOMERS - 1
    x = np.array([1.0] * few + [0.0] * 5)
    t_x = np.where(x > 0, 2.0, 0.0)
    scores = score_customers(
        np.arange(len(x)).astype(str), x, t_x, np.full(len(x), 4.0), x * 10, ClvSettings()
    )
    assert scores.bgnbd is None and scores.gamma_gamma is None and len(scores.not_fitted) == 2
    assert scores.scores[["p_alive", "clv_horizon"]].isna().all().all()
    empty = score_customers([], [], [], [], [], ClvSettings())
    assert empty.customers == 0 and empty.total_clv == 0.0 and empty.mean_p_alive is None


def test_writing_without_enough_data_gives_null_predictions() -> None:
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        f"create table {HISTORY_TABLE} as select 'cus_1' as customer_id, "
        "timestamp '2026-10-31 12:00:00' as as_of_at, 0 as repeat_frequency, "
        "0 as recency_days, 3 as age_days, cast(null as decimal(18, 2)) "
        "as average_repeat_purchase_value"
    )
    history = read_purchase_history(con)
    scores = score_purchase_history(history, ClvSettings())
    assert write_lifetime_values(con, history, scores) == 1
    row = con.execute(f"select * from {LIFETIME_TABLE}").fetchone()
    assert row[0] == "cus_1" and row[1:5] == (None, None, None, None) and row[6:] == (12, 0.01)
    con.execute(f"delete from {HISTORY_TABLE}")
    history = read_purchase_history(con)
    assert write_lifetime_values(con, history, score_purchase_history(history, ClvSettings())) == 0
    assert con.execute(f"select count(*) from {LIFETIME_TABLE}").fetchone() == (0,)


# --- the Dagster asset in the pipeline ----------------------------------------------------


def test_lifetime_asset_materializes_in_the_pipeline(pipeline_run: PipelineRun) -> None:
    assert pipeline_run.outcome.success, pipeline_run.outcome.failure
    with connect(pipeline_run.settings.db_path, read_only=True) as con:
        history_ids = [
            row[0]
            for row in con.sql(f"select customer_id from {HISTORY_TABLE} order by 1").fetchall()
        ]
        lifetime = con.sql(f"select * from {LIFETIME_TABLE} order by customer_id").df()
        repeaters = con.execute(
            f"select count(*) from {HISTORY_TABLE} where repeat_frequency > 0"
        ).fetchone()[0]
    assert len(history_ids) > 100 and repeaters >= MIN_REPEAT_CUSTOMERS
    assert lifetime["customer_id"].tolist() == history_ids  # one row per customer
    assert lifetime[["p_alive", "expected_purchases_horizon", "clv_horizon"]].notna().all().all()
    assert lifetime["p_alive"].between(0, 1).all()
    assert (lifetime["clv_horizon"] >= 0).all()
    assert (lifetime["expected_average_spend"] > 0).all()
    assert (lifetime["horizon_months"] == 12).all()

    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "customer_lifetime_value"])
        )
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    assert metadata["customers"].value == len(history_ids)
    assert set(metadata["bg_nbd parameters"].value) == {"r", "alpha", "a", "b"}
    assert set(metadata["gamma_gamma parameters"].value) == {"p", "q", "gamma"}
    assert metadata["total predicted CLV"].value == pytest.approx(
        lifetime["clv_horizon"].sum(), rel=1e-6
    )
    assert metadata["mean p_alive"].value == pytest.approx(lifetime["p_alive"].mean(), abs=1e-6)
