"""How well the warehouse did against the generator's ground truth."""

from omni360.evaluation.stitching import (
    EvaluationInputError,
    SharedSafety,
    StitchingQuality,
    evaluate_stitching,
)

__all__ = ["EvaluationInputError", "SharedSafety", "StitchingQuality", "evaluate_stitching"]
