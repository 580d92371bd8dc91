"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive, a customer buys at rate λ (a Poisson process); after every purchase they drop out
for good with probability p. Across customers λ ~ Gamma(shape r, rate α) and p ~ Beta(a, b).
A customer is summarized by x (repeat purchases), t_x (time of the last purchase) and T (time
observed), all measured from their first purchase (see `summary`).

Likelihood of one customer (the paper's equation 6):

    L = A1 · A2 · (A3 + [x > 0] · A4)
    A1 = Γ(r + x) α^r / Γ(r)
    A2 = B(a, b + x) / B(a, b)
    A3 = (α + T)^-(r + x)
    A4 = a / (b + x - 1) · (α + t_x)^-(r + x)

It is evaluated in log space: log A1 with `gammaln`, log A2 with `betaln`, and log(A3 + A4)
with `logaddexp`, so no term under- or overflows. The fit maximizes the summed log-likelihood
over the logarithms of (r, α, a, b) with L-BFGS-B and the analytic gradient.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from omni360.lifetime.likelihood import fit_log_parameters

PARAMETER_NAMES = ("r", "alpha", "a", "b")


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: λ ~ Gamma(r, rate alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class BgNbdFit:
    """A maximum-likelihood fit of the BG/NBD model."""

    params: BgNbdParams
    log_likelihood: float  # summed over customers, at the fitted parameters
    customers: int
    repeat_customers: int  # customers with x > 0
    converged: bool
    iterations: int
    message: str
    at_bound: tuple[str, ...]  # parameters whose logarithm ended on ±LOG_BOUND


Arrays = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def _validated(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Arrays:
    """x, t_x, T as float arrays of one length, checked: x ≥ 0, 0 ≤ t_x ≤ T."""
    x, t_x, T = np.broadcast_arrays(
        np.asarray(x, dtype=float), np.asarray(t_x, dtype=float), np.asarray(T, dtype=float)
    )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(T))):
        raise ValueError("x, t_x and T must be finite")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T):
        raise ValueError("expected x >= 0 and 0 <= t_x <= T for every customer")
    return x, t_x, T


def _log_likelihood_terms(
    log_params: NDArray[np.float64],
    x: NDArray[np.float64],
    t_x: NDArray[np.float64],
    T: NDArray[np.float64],
    gradient: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Per-customer log-likelihood and, when asked, its gradient in the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    repeat = x > 0
    b_x_1 = np.where(repeat, b + x - 1.0, 1.0)  # b + x - 1 > 0 whenever x ≥ 1
    log_a3 = -(r + x) * np.log(alpha + T)
    log_a4 = np.where(repeat, np.log(a) - np.log(b_x_1) - (r + x) * np.log(alpha + t_x), -np.inf)
    log_sum = np.logaddexp(log_a3, log_a4)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + log_sum
    if not gradient:
        return ll, None
    w3 = np.exp(log_a3 - log_sum)  # shares of A3 and A4 in A3 + A4
    w4 = np.exp(log_a4 - log_sum)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + T)
    d_r -= w4 * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w4 / b_x_1
    grad = np.stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b], axis=1)
    return ll, grad


def log_likelihood(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> float:
    """Summed BG/NBD log-likelihood of the customers (x, t_x, T) at `params`."""
    x, t_x, T = _validated(x, t_x, T)
    log_params = np.log([params.r, params.alpha, params.a, params.b])
    ll, _ = _log_likelihood_terms(log_params, x, t_x, T, gradient=False)
    return float(ll.sum())


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    initial: BgNbdParams | None = None,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters for the customers (x, t_x, T).

    Minimizes the mean negative log-likelihood over log(r, α, a, b) with L-BFGS-B. The
    default start is r = a = b = 1 and α = ΣT / Σx (so that r / α, the mean purchase rate,
    starts near the observed one). Needs at least one customer with a repeat purchase.
    """
    x, t_x, T = _validated(x, t_x, T)
    repeat_customers = int(np.count_nonzero(x > 0))
    if repeat_customers == 0:
        raise ValueError("the BG/NBD fit needs at least one customer with a repeat purchase")
    if initial is None:
        initial = BgNbdParams(r=1.0, alpha=float(T.sum() / x.sum()), a=1.0, b=1.0)
    n = len(x)
    fit = fit_log_parameters(
        lambda log_params: _log_likelihood_terms(log_params, x, t_x, T, gradient=True),
        (initial.r, initial.alpha, initial.a, initial.b),
        PARAMETER_NAMES,
        n,
    )
    return BgNbdFit(
        params=BgNbdParams(*fit.values),
        log_likelihood=fit.log_likelihood,
        customers=n,
        repeat_customers=repeat_customers,
        converged=fit.converged,
        iterations=fit.iterations,
        message=fit.message,
        at_bound=fit.at_bound,
    )


def probability_alive(
    params: BgNbdParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> NDArray[np.float64]:
    """P(alive at T | x, t_x, T) (the paper's equation 11).

    1 / (1 + [x > 0] · a / (b + x - 1) · ((α + T) / (α + t_x))^(r + x)), evaluated as the
    logistic function of minus the log of the second summand; exactly 1 when x = 0.
    """
    x, t_x, T = _validated(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    b_x_1 = np.where(repeat, b + x - 1.0, 1.0)
    log_odds_dead = np.log(a) - np.log(b_x_1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, expit(-log_odds_dead), 1.0)


def _hypergeometric_factor(
    params: BgNbdParams,
    t: float | NDArray[np.float64],
    x: NDArray[np.float64],
    T: NDArray[np.float64],
) -> NDArray[np.float64]:
    """(a + b + x - 1) / (a - 1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z)].

    z = t / (α + T + t). The expression is continuous in a at a = 1, where both the
    numerator and the denominator vanish; there `a` is moved by 1e-7 to stay off 0/0.
    """
    r, alpha, b = params.r, params.alpha, params.b
    a = params.a if abs(params.a - 1.0) > 1e-7 else 1.0 + 1e-7
    z = t / (alpha + T + t)
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
    bracket = 1.0 - np.exp(log_ratio) * hyp2f1(r + x, b + x, a + b + x - 1.0, z)
    return (a + b + x - 1.0) / (a - 1.0) * bracket


def expected_purchases(
    params: BgNbdParams,
    t: float,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> NDArray[np.float64]:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (the paper's equation 10).

    The hypergeometric factor of `_hypergeometric_factor` times P(alive at T). Zero for t = 0.
    Raises FloatingPointError rather than return a non-finite expectation.
    """
    if t < 0:
        raise ValueError("t must be >= 0")
    x, t_x, T = _validated(x, t_x, T)
    if t == 0:
        return np.zeros_like(x)
    result = _hypergeometric_factor(params, t, x, T) * probability_alive(params, x, t_x, T)
    if not np.all(np.isfinite(result)):
        raise FloatingPointError(f"non-finite expected purchases for t = {t} at {params}")
    return result


def expected_purchases_new_customer(params: BgNbdParams, t: ArrayLike) -> NDArray[np.float64]:
    """E[X(t)]: expected repeat purchases in the first t after a first purchase (equation 9).

    (a + b - 1) / (a - 1) · [1 - (α / (α + t))^r · 2F1(r, b; a + b - 1; t / (α + t))], which
    is `expected_purchases` of a customer observed for no time (x = t_x = T = 0).
    """
    t = np.asarray(t, dtype=float)
    if np.any(t < 0):
        raise ValueError("t must be >= 0")
    zeros = np.zeros_like(t)
    return _hypergeometric_factor(params, t, zeros, zeros)
