"""The KPI dashboard: one self-contained HTML file built from the marts after every run."""
