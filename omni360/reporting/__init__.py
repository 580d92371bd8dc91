"""Figures read back from the built marts, for run metadata and reports."""
