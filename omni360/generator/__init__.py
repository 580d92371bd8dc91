"""Deterministic demo data: a Ukrainian omnichannel retailer's landing zone and its truth.

`generate(landing_dir, truth_dir, customers=N)` writes every source of the landing-zone
contract (`omni360.contract`) for N people over `days` days ending on `end_date`, with the
fragmented identities, cross-channel journeys and delivery quirks of real exports, and the
ground truth a pipeline can be checked against. Same arguments, byte-identical files.
"""

from omni360.generator.pipeline import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
