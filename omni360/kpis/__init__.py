"""KPI targets and alerts: which KPI is off track, and what to do about it."""
