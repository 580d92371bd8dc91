"""The KPI alerts the warehouse computed (marts.fct_kpi_alerts), and the rules behind them.

The rules are dbt seeds: `kpi_targets.csv` (a KPI worse than its alert threshold) and
`kpi_alert_rules.csv` (one KPI rose while another fell). They are read from the files so that
every rule has its own check before anything has run.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

ALERTS_TABLE = "marts.fct_kpi_alerts"


@dataclass(frozen=True)
class AlertRule:
    alert_type: str  # threshold | trend
    name: str  # the KPI of a threshold, the rule id of a trend
    description: str


@dataclass(frozen=True)
class Alert:
    alert_type: str
    name: str
    period_start: str | None
    kpi: str
    kpi_value: float | None
    previous_kpi_value: float | None
    alert_threshold: float | None
    is_breached: bool
    corrective_action: str
    detail: str


def alert_rules(seeds_dir: Path) -> list[AlertRule]:
    """Every alert the seeds declare, thresholds first."""
    rules = []
    with (seeds_dir / "kpi_targets.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rules.append(
                AlertRule(
                    "threshold",
                    row["kpi"],
                    f"{row['kpi']} {'below' if row['better'] == 'higher' else 'above'} "
                    f"{row['alert_threshold']}",
                )
            )
    with (seeds_dir / "kpi_alert_rules.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            rules.append(AlertRule("trend", row["rule_id"], row["description"]))
    return rules


def read_alerts(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Alert]:
    """The alerts of the latest complete month, by (type, name)."""
    rows = con.sql(
        f"""
        select alert_type, alert_name, cast(period_start as varchar), kpi, kpi_value,
               previous_kpi_value, alert_threshold, is_breached, corrective_action, detail
        from {ALERTS_TABLE}
        """
    ).fetchall()
    alerts = {}
    for row in rows:
        alert = Alert(
            alert_type=row[0],
            name=row[1],
            period_start=row[2],
            kpi=row[3],
            kpi_value=None if row[4] is None else float(row[4]),
            previous_kpi_value=None if row[5] is None else float(row[5]),
            alert_threshold=None if row[6] is None else float(row[6]),
            is_breached=bool(row[7]),
            corrective_action=row[8],
            detail=row[9],
        )
        alerts[(alert.alert_type, alert.name)] = alert
    return alerts
