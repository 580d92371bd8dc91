"""Predictive customer lifetime value: BG/NBD, Gamma-Gamma and CLV over a horizon.

- `summary`: transactions → repeat frequency x, recency t_x, age T and average repeat value;
- `bgnbd`: the BG/NBD model (Fader, Hardie & Lee 2005) — fit, P(alive), expected purchases;
- `gamma_gamma`: the Gamma-Gamma spend model — fit, conditional expected average spend;
- `clv`: discounted CLV over a horizon in months, and scoring a whole customer base.

Definitions and the CDNOW validation: docs/metrics.md.
"""
