"""Maximum likelihood over log-parameters: the fitting step BG/NBD and Gamma-Gamma share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

# The fit keeps every log-parameter within ±LOG_BOUND (e^15 ≈ 3.3 million).
LOG_BOUND = 15.0

# Log-likelihood terms per customer and, when asked, their gradient per log-parameter.
Terms = Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64] | None]]


@dataclass(frozen=True)
class LogParameterFit:
    values: tuple[float, ...]  # the fitted parameters (not their logarithms)
    log_likelihood: float  # summed over customers
    converged: bool
    iterations: int
    message: str
    at_bound: tuple[str, ...]  # parameters whose logarithm ended on ±LOG_BOUND


def fit_log_parameters(
    terms: Terms, initial: Sequence[float], names: Sequence[str], customers: int
) -> LogParameterFit:
    """Maximise the mean log-likelihood with L-BFGS-B on the logarithms of the parameters."""
    start = np.clip(np.log(np.asarray(initial, dtype=float)), -LOG_BOUND, LOG_BOUND)

    def objective(log_params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        ll, grad = terms(log_params)
        assert grad is not None
        return -float(ll.sum()) / customers, -grad.sum(axis=0) / customers

    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_BOUND, LOG_BOUND)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10},
    )
    return LogParameterFit(
        values=tuple(float(v) for v in np.exp(result.x)),
        log_likelihood=-float(result.fun) * customers,
        converged=bool(result.success),
        iterations=int(result.nit),
        message=str(result.message),
        at_bound=tuple(
            name
            for name, value in zip(names, result.x, strict=True)
            if abs(value) >= LOG_BOUND - 1e-6
        ),
    )
