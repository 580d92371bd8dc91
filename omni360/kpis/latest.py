"""The latest monthly value of every KPI (all channels, all segments), for asset metadata."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

LATEST_KPIS = """
    select kpi, arg_max(period_start, period_start) as month, arg_max(kpi_value, period_start)
    from marts.fct_kpis
    where period_grain = 'month' and channel = 'all' and segment = 'all' and kpi_value is not null
    group by kpi
    order by kpi
"""


@dataclass(frozen=True)
class LatestKpi:
    kpi: str
    month: date
    value: float


def latest_kpis(con: duckdb.DuckDBPyConnection) -> list[LatestKpi]:
    return [
        LatestKpi(kpi, month, float(value))
        for kpi, month, value in con.execute(LATEST_KPIS).fetchall()
    ]
