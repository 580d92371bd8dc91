"""One Dagster asset check per KPI alert rule, warning on the KPI alerts mart when it breaches."""

from collections.abc import Iterator

import dagster as dg

from omni360.kpis.alerts import AlertRule, alert_rules, read_alerts
from omni360.settings import PROJECT_ROOT
from orchestration.resources import Warehouse

KPI_ALERTS = dg.AssetKey(["marts", "fct_kpi_alerts"])


def _check_name(rule: AlertRule) -> str:
    return f"kpi_{rule.alert_type}_{rule.name}"


def build_kpi_checks() -> dg.AssetChecksDefinition:
    rules = alert_rules(PROJECT_ROOT / "seeds")
    specs = [
        dg.AssetCheckSpec(_check_name(rule), asset=KPI_ALERTS, description=rule.description)
        for rule in rules
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, pool="duckdb")
    def kpi_alert_checks(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        """Warn for every KPI off its threshold or trending the wrong way, with the action."""
        with warehouse.connection(read_only=True) as con:
            alerts = read_alerts(con)
        selected = {key.name for key in context.selected_asset_check_keys}
        for rule in rules:
            if _check_name(rule) not in selected:
                continue
            alert = alerts.get((rule.alert_type, rule.name))
            yield dg.AssetCheckResult(
                check_name=_check_name(rule),
                asset_key=KPI_ALERTS,
                passed=alert is None or not alert.is_breached,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "month": alert.period_start if alert else None,
                    "detail": alert.detail if alert else "no data for this KPI yet",
                    "corrective action": alert.corrective_action if alert else "",
                },
            )

    return kpi_alert_checks
