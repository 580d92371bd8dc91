"""Dagster wiring of omni360: which assets exist, how they connect, when they run."""
