"""The identity audit: a mart an operator reads, and the same figures on the Dagster asset."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from omni360.reporting.identity import read_identity_audit
from tests.conftest import PipelineRun


def test_audit_figures_agree_with_the_identity_marts(pipeline_run: PipelineRun) -> None:
    with duckdb.connect(str(pipeline_run.settings.db_path), read_only=True) as con:
        audit = read_identity_audit(con)
        customers, shared = con.sql(
            """
            select
                count(distinct customer_id),
                count(*) filter (where is_shared)
            from marts.dim_customer_identifiers
            """
        ).fetchall()[0]
        matched_events, events = con.sql(
            """
            select
                (select count(*) from intermediate.int_identity__record_customers as r
                 where r.source_name = 'events' and r.customer_id in (
                     select i.customer_id from marts.dim_customer_identifiers as i
                     join seeds.identifier_types as t using (identifier_type)
                     where t.identifies_person)),
                (select count(*) from staging.stg_events)
            """
        ).fetchall()[0]
    assert audit.customers == customers > 0
    assert sum(audit.customers_by_size.values()) == customers
    assert audit.shared_identifiers == shared
    assert audit.integration_by_source["events"] == pytest.approx(matched_events / events, abs=1e-6)
    assert 0.5 < audit.integration_rate <= 1


def test_audit_figures_are_metadata_of_the_dagster_asset(pipeline_run: PipelineRun) -> None:
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "fct_identity_audit"])
        )
    assert event is not None and event.asset_materialization is not None
    metadata = event.asset_materialization.metadata
    with duckdb.connect(str(pipeline_run.settings.db_path), read_only=True) as con:
        audit = read_identity_audit(con)
    assert metadata["customers"].value == audit.customers
    assert metadata["data integration rate"].value == pytest.approx(
        audit.integration_rate, abs=1e-4
    )
    assert "identifiers per customer" in metadata["customers by size"].value
