"""KPIs as a stakeholder reads them: recomputed from the staged data, and alerts in Dagster."""

from __future__ import annotations

import csv

import dagster as dg
import duckdb
import pytest

from omni360.kpis.alerts import alert_rules, read_alerts
from omni360.settings import PROJECT_ROOT
from tests.conftest import PipelineRun


def _monthly(con: duckdb.DuckDBPyConnection, kpi: str) -> dict[str, float]:
    rows = con.execute(
        """
        select strftime(period_start, '%Y-%m'), kpi_value from marts.fct_kpis
        where kpi = ? and period_grain = 'month' and channel = 'all' and segment = 'all'
          and kpi_value is not null
        """,
        [kpi],
    ).fetchall()
    return {month: float(value) for month, value in rows}


def _rates() -> dict[str, float]:
    with (PROJECT_ROOT / "seeds" / "currency_rates.csv").open(newline="") as handle:
        rows = csv.DictReader(handle)
        return {r["currency"]: float(r["rate_to_reporting_currency"]) for r in rows}


def test_experience_and_order_kpis_match_a_recomputation(pipeline_run: PipelineRun) -> None:
    """NPS, CES, CSAT, AOV and return rate per month, recomputed here with pandas."""
    with duckdb.connect(str(pipeline_run.settings.db_path), read_only=True) as con:
        surveys = con.sql(
            "select survey_type, score, strftime(responded_at, '%Y-%m') as month"
            " from staging.stg_survey_responses"
        ).df()
        orders = con.sql(
            "select order_status, currency, total_amount, strftime(ordered_at, '%Y-%m') as month"
            " from staging.stg_orders"
        ).df()
        marts = {k: _monthly(con, k) for k in ("nps", "ces", "csat", "aov", "return_rate")}

    expected: dict[str, dict[str, float]] = {k: {} for k in marts}
    for month, group in surveys.groupby("month"):
        nps = group[group.survey_type == "nps"].score
        ces = group[group.survey_type == "ces"].score
        csat = group[group.survey_type == "csat"].score
        if len(nps):
            expected["nps"][month] = 100 * ((nps >= 9).sum() - (nps <= 6).sum()) / len(nps)
        if len(ces):
            expected["ces"][month] = ces.mean()
        if len(csat):
            expected["csat"][month] = 100 * (csat >= 4).sum() / len(csat)
    rates = _rates()
    pairs = zip(orders.total_amount, orders.currency, strict=True)
    orders["amount"] = [round(float(amount) * rates[currency], 2) for amount, currency in pairs]
    for month, group in orders.groupby("month"):
        completed = group[group.order_status == "completed"]
        fulfilled = group[group.order_status.isin(["completed", "returned"])]
        if len(completed):
            expected["aov"][month] = completed.amount.sum() / len(completed)
        if len(fulfilled):
            expected["return_rate"][month] = (
                100 * (fulfilled.order_status == "returned").sum() / len(fulfilled)
            )

    for kpi, by_month in expected.items():
        assert marts[kpi].keys() == by_month.keys(), kpi
        for month, value in by_month.items():
            assert marts[kpi][month] == pytest.approx(value, abs=0.005), (kpi, month)


def test_every_alert_rule_is_a_warning_check_naming_its_action(pipeline_run: PipelineRun) -> None:
    with duckdb.connect(str(pipeline_run.settings.db_path), read_only=True) as con:
        alerts = read_alerts(con)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(
            run_id=pipeline_run.outcome.run_id,
            of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            limit=10_000,
        ).records
    evaluations = {
        e.check_name: e
        for e in (r.event_log_entry.dagster_event.event_specific_data for r in records)
    }
    rules = alert_rules(PROJECT_ROOT / "seeds")
    assert len(rules) >= 14
    for rule in rules:
        evaluation = evaluations[f"kpi_{rule.alert_type}_{rule.name}"]
        alert = alerts[(rule.alert_type, rule.name)]
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        assert evaluation.passed == (not alert.is_breached)
        assert evaluation.metadata["corrective action"].value == alert.corrective_action
        assert evaluation.metadata["detail"].value == alert.detail
