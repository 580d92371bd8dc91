"""The identity audit in a few figures: what an operator reads first after a stitching run."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

AUDIT_TABLE = "marts.fct_identity_audit"


@dataclass(frozen=True)
class IdentityAudit:
    customers: int
    known_customers: int
    integration_rate: float  # records of all sources matched to a known customer
    integration_by_source: dict[str, float]
    customers_by_size: dict[str, int]
    largest_customer_size: int
    shared_identifiers: int
    suppressed_links: int
    id_changes: dict[str, int]
    over_limit: dict[str, int]

    def size_table(self) -> str:
        """The component-size distribution as a Markdown table."""
        rows = [f"| {size} | {count:,} |" for size, count in self.customers_by_size.items()]
        return "\n".join(["| identifiers per customer | customers |", "|---|---:|", *rows])


def read_identity_audit(con: duckdb.DuckDBPyConnection) -> IdentityAudit:
    rows = con.sql(f"select metric, dimension, metric_value from {AUDIT_TABLE}").fetchall()
    by_metric: dict[str, dict[str, float]] = {}
    for metric, dimension, value in rows:
        by_metric.setdefault(metric, {})[dimension] = float(value)

    def counts(metric: str) -> dict[str, int]:
        return {k: int(v) for k, v in sorted(by_metric.get(metric, {}).items())}

    integration = dict(by_metric.get("data integration rate", {}))
    customers = by_metric.get("customers", {})
    return IdentityAudit(
        customers=int(customers.get("all", 0)),
        known_customers=int(customers.get("known by a personal identifier", 0)),
        integration_rate=integration.pop("all sources", 0.0),
        integration_by_source=dict(sorted(integration.items())),
        customers_by_size=counts("customers by size"),
        largest_customer_size=int(max(by_metric.get("largest customers", {0: 0}).values())),
        shared_identifiers=sum(counts("shared identifiers").values()),
        suppressed_links=sum(counts("suppressed links").values()),
        id_changes=counts("customer id changes"),
        over_limit=counts("customers over the limit of"),
    )
