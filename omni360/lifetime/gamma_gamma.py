"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value Curves";
Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value").

The value of each of a customer's transactions is Gamma(shape p, rate ν); across customers
ν ~ Gamma(shape q, rate γ). Spend is assumed independent of the purchase process. A customer
is summarized by x, the number of repeat transactions, and m_x, their average value.

Likelihood of one customer's average m_x given x (the note's equation 3; the density of the
mean of x values):

    f(m_x | p, q, γ, x) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q · m_x^(px - 1) · x^(px)
                          / (γ + x m_x)^(px + q)

evaluated in log space with `gammaln`; the fit maximizes the summed log-likelihood of the
customers with x > 0 and m_x > 0 over log(p, q, γ) with L-BFGS-B and the analytic gradient.

Conditional expected average spend (the note's equation 5), a weighted mean of the
population mean p γ / (q - 1) and the customer's own m_x:

    E[M | p, q, γ, m_x, x] = p (γ + x m_x) / (p x + q - 1)

which needs q > 1; for x = 0 it is the population mean.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, gammaln

from omni360.lifetime.likelihood import fit_log_parameters

PARAMETER_NAMES = ("p", "q", "gamma")


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: transaction value ~ Gamma(p, rate ν), ν ~ Gamma(q, rate gamma)."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        """Mean transaction value across customers, p γ / (q - 1); infinite when q ≤ 1."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    """A maximum-likelihood fit of the Gamma-Gamma model."""

    params: GammaGammaParams
    log_likelihood: float  # summed over the customers fitted
    customers: int  # customers used: x > 0 and m_x > 0
    converged: bool
    iterations: int
    message: str
    at_bound: tuple[str, ...]


def _fit_arrays(
    frequency: ArrayLike, monetary_value: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The customers a fit can use: x > 0 and a finite m_x > 0."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    usable = (x > 0) & np.isfinite(m) & (m > 0)
    return x[usable], m[usable]


def _log_likelihood_terms(
    log_params: NDArray[np.float64],
    x: NDArray[np.float64],
    m: NDArray[np.float64],
    gradient: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Per-customer log-likelihood and, when asked, its gradient in the log-parameters."""
    p, q, gamma = np.exp(log_params)
    px = p * x
    log_total = np.log(gamma + x * m)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_total
    )
    if not gradient:
        return ll, None
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_total)
    d_q = digamma(px + q) - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + x * m)
    grad = np.stack([d_p * p, d_q * q, d_gamma * gamma], axis=1)
    return ll, grad


def log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> float:
    """Summed Gamma-Gamma log-likelihood of the customers with x > 0 and m_x > 0."""
    x, m = _fit_arrays(frequency, monetary_value)
    log_params = np.log([params.p, params.q, params.gamma])
    ll, _ = _log_likelihood_terms(log_params, x, m, gradient=False)
    return float(ll.sum())


def fit_gamma_gamma(
    frequency: ArrayLike,
    monetary_value: ArrayLike,
    initial: GammaGammaParams | None = None,
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters from x and m_x of every customer.

    Customers without a repeat purchase (x = 0) or with m_x ≤ 0 or missing are left out.
    The default start is p = q = 2 and γ = mean(m_x) (the population mean p γ / (q - 1)
    then starts at twice the observed mean). Needs at least two usable customers.
    """
    x, m = _fit_arrays(frequency, monetary_value)
    if len(x) < 2:
        raise ValueError("the Gamma-Gamma fit needs at least two customers with repeat spend")
    if initial is None:
        initial = GammaGammaParams(p=2.0, q=2.0, gamma=float(m.mean()))
    n = len(x)
    fit = fit_log_parameters(
        lambda log_params: _log_likelihood_terms(log_params, x, m, gradient=True),
        (initial.p, initial.q, initial.gamma),
        PARAMETER_NAMES,
        n,
    )
    return GammaGammaFit(
        params=GammaGammaParams(*fit.values),
        log_likelihood=fit.log_likelihood,
        customers=n,
        converged=fit.converged,
        iterations=fit.iterations,
        message=fit.message,
        at_bound=fit.at_bound,
    )


def expected_average_spend(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> NDArray[np.float64]:
    """E[M | x, m_x] = p (γ + x m_x) / (p x + q - 1): expected value of a future transaction.

    A customer with x = 0 (m_x missing or not) gets the population mean p γ / (q - 1).
    Raises when q ≤ 1, where the population mean does not exist.
    """
    if params.q <= 1.0:
        raise ValueError(f"expected spend needs q > 1 (fitted q = {params.q:.4g})")
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    m = np.where(x > 0, m, 0.0)
    if np.any(~np.isfinite(m)) or np.any(m < 0) or np.any(x < 0):
        raise ValueError("expected x >= 0 and a finite m_x >= 0 for every customer with x > 0")
    return params.p * (params.gamma + x * m) / (params.p * x + params.q - 1.0)
