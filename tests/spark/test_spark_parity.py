"""The dbt project on Spark: every node passes, and the marts give the answers DuckDB gives.

Run by `make test-spark` (marker `spark`, left out of the default run): one small warehouse is
built on both engines (tests/spark/conftest.py) and compared here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from omni360.spark.check import spark_session
from tests.spark.conftest import SparkCheck

pytestmark = pytest.mark.spark

COMPARED_SCHEMAS = ("intermediate", "marts", "audiences")


def _duckdb_rows(check: SparkCheck, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(check.work.duckdb_path), read_only=True) as con:
        return [tuple(row) for row in con.execute(sql).fetchall()]


def _spark_rows(sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in spark_session().sql(sql).collect()]  # type: ignore[attr-defined]


def _normalized(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows sorted, numbers as floats rounded to 6 significant digits (summation order
    differs between engines), so equal answers compare equal."""

    def value(item: Any) -> Any:
        if isinstance(item, bool) or item is None or isinstance(item, str):
            return item
        if isinstance(item, int | float | Decimal):
            return float(f"{float(item):.6g}") + 0.0  # + 0.0: -0.0 becomes 0.0
        return str(item)

    return sorted((tuple(value(item) for item in row) for row in rows), key=repr)


def _same_answer(check: SparkCheck, sql: str) -> None:
    expected = _normalized(_duckdb_rows(check, sql))
    actual = _normalized(_spark_rows(sql))
    assert expected, f"no rows on DuckDB for: {sql}"
    assert actual == expected


def test_every_model_and_test_passes_on_spark(spark_check: SparkCheck) -> None:
    summary = spark_check.summary
    assert summary.failures == []
    manifest = json.loads((spark_check.work.root / "target-spark" / "manifest.json").read_text())
    kinds = [node["resource_type"] for node in manifest["nodes"].values()]
    assert summary.passed("model") == kinds.count("model") > 0
    assert summary.passed("seed") == kinds.count("seed") > 0
    assert summary.passed("test") == kinds.count("test") > 0
    assert summary.passed("unit_test") == len(manifest["unit_tests"]) > 0


def test_every_table_has_the_same_row_count(spark_check: SparkCheck) -> None:
    tables = _duckdb_rows(
        spark_check,
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema in {COMPARED_SCHEMAS} order by all",
    )
    assert len(tables) > 50
    names = [f"{schema}.{table}" for schema, table in tables]
    counts = {name: _duckdb_rows(spark_check, f"select count(*) from {name}")[0][0]
              for name in names}  # fmt: skip
    spark_counts = {name: _spark_rows(f"select count(*) from {name}")[0][0] for name in counts}
    assert spark_counts == counts
    assert counts["marts.dim_customers"] > 100


def test_customers_are_the_same(spark_check: SparkCheck) -> None:
    _same_answer(
        spark_check,
        "select customer_id, primary_email, primary_phone, identifier_count, channels_used_count, "
        "preferred_channel, engagement_score_90d, is_email_opted_in from marts.dim_customers",
    )


def test_identity_stitching_is_the_same(spark_check: SparkCheck) -> None:
    _same_answer(
        spark_check,
        "select customer_id, identifier_type, identifier from marts.dim_customer_identifiers",
    )


def test_kpis_are_the_same(spark_check: SparkCheck) -> None:
    _same_answer(
        spark_check,
        "select period_grain, kpi, channel, segment, count(*), sum(numerator), "
        "sum(denominator), sum(kpi_value) from marts.fct_kpis group by all",
    )


def test_audience_members_are_the_same(spark_check: SparkCheck) -> None:
    _same_answer(
        spark_check,
        "select audience_name, customer_id, channel, address, channel_order, is_holdout, "
        "cost_per_message, priority, attributes from marts.fct_audience_members",
    )
    _same_answer(
        spark_check,
        "select audience_name, channel, candidates from marts.fct_audience_summary",
    )


# The incremental models: the columns compared after the next day, and their day column.
INCREMENTAL_MODELS = {
    "staging.stg_events": ("event_id, event_type, user_id, touch_channel, revenue", "occurred_on"),
    "staging.stg_message_events": (
        "message_event_id, channel, recipient, event_type, message_cost",
        "occurred_on",
    ),
    "staging.stg_orders": ("order_id, channel, order_status, total_amount", "ordered_on"),
    "intermediate.int_customers__touchpoints": (
        "touchpoint_id, customer_id, source_name, record_id, channel, touch_type, touch_value",
        "occurred_on",
    ),
}


def test_the_next_day_runs_incrementally_on_spark(spark_check: SparkCheck) -> None:
    next_day = spark_check.next_day
    assert next_day.failures == []
    assert next_day.passed("model") >= len(INCREMENTAL_MODELS)
    run_sql = spark_check.work.root / "target-spark" / "run"
    for relation in INCREMENTAL_MODELS:
        name = relation.split(".")[1]
        (compiled,) = run_sql.rglob(f"{name}.sql")
        # dbt-spark's incremental path (the first build is a `create ... as select`)
        assert "insert overwrite table" in compiled.read_text().lower(), name


@pytest.mark.parametrize("relation", sorted(INCREMENTAL_MODELS))
def test_the_next_day_gives_the_same_rows(spark_check: SparkCheck, relation: str) -> None:
    columns, day = INCREMENTAL_MODELS[relation]
    newest = f"select cast(max({day}) as string) from {relation}"
    assert _duckdb_rows(spark_check, newest) == [(spark_check.held.day,)]
    assert _spark_rows(newest) == [(spark_check.held.day,)]
    _same_answer(
        spark_check,
        f"select {columns}, {day}, count(*) from {relation} group by all",
    )
