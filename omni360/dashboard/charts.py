"""The dashboard's charts: each turns one query's frame into a titled Plotly figure."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from omni360.reporting.identity import IdentityAudit

PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04"]
LAYOUT = {
    "template": "plotly_white",
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "colorway": PALETTE,
}


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    caption: str  # what the chart shows and which mart it comes from
    figure: go.Figure


def _styled(figure: go.Figure, height: int = 380) -> go.Figure:
    figure.update_layout(**LAYOUT, height=height)
    return figure


def kpis_against_targets(frame: pd.DataFrame) -> go.Figure:
    """One small panel per KPI with a target: monthly value, baseline, 12-month target and
    alert threshold."""
    kpis = list(dict.fromkeys(frame["kpi"]))
    columns = 3
    rows = math.ceil(len(kpis) / columns)
    figure = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[f"{kpi} ({frame.loc[frame.kpi == kpi, 'unit'].iloc[0]})" for kpi in kpis],
        vertical_spacing=0.12,
    )
    for index, kpi in enumerate(kpis):
        row, col = index // columns + 1, index % columns + 1
        series = frame[frame.kpi == kpi]
        first = index == 0
        figure.add_scatter(
            x=series.period_start,
            y=series.kpi_value,
            mode="lines+markers",
            name="actual",
            line={"color": PALETTE[0]},
            legendgroup="actual",
            showlegend=first,
            row=row,
            col=col,
        )
        for column, label, color, dash in (
            ("baseline", "baseline", "#6b7280", "dot"),
            ("target_12m", "12-month target", PALETTE[2], "dash"),
            ("alert_threshold", "alert threshold", PALETTE[3], "dot"),
        ):
            figure.add_scatter(
                x=series.period_start,
                y=series[column],
                mode="lines",
                name=label,
                line={"color": color, "dash": dash, "width": 1.5},
                legendgroup=label,
                showlegend=first,
                row=row,
                col=col,
            )
    return _styled(figure, height=260 * rows)


def funnel_by_channel(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for channel, stages in frame.groupby("channel", sort=True):
        figure.add_funnel(
            name=str(channel),
            y=stages.funnel_stage,
            x=stages.sessions,
            textinfo="value+percent initial",
        )
    return _styled(figure)


def channel_mix(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for channel, months in frame.groupby("channel", sort=True):
        figure.add_bar(name=str(channel), x=months.month_start, y=months.touches)
    figure.update_layout(barmode="stack", yaxis_title="touches of known customers")
    return _styled(figure)


def channel_switching(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column, label in (
        ("cross_channel_conversion_rate", "cross-channel conversion rate"),
        ("other_channel_conversion_rate", "completed in another channel"),
        ("channel_switching_rate", "channel switching rate"),
    ):
        figure.add_scatter(x=frame.month_start, y=frame[column], mode="lines+markers", name=label)
    figure.update_layout(yaxis_tickformat=".0%")
    return _styled(figure)


def attribution_side_by_side(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for model in ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov"):
        figure.add_bar(name=model.replace("_", " "), x=frame.channel, y=frame[model])
    figure.update_layout(barmode="group", yaxis_title="attributed revenue")
    return _styled(figure, height=420)


def top_journeys(frame: pd.DataFrame) -> go.Figure:
    """The top converting channel paths as a Sankey: step n's channel flows into step n+1's;
    the last step flows into 'purchase'."""
    nodes: dict[str, int] = {}
    flows: dict[tuple[int, int], float] = {}

    def node(label: str) -> int:
        return nodes.setdefault(label, len(nodes))

    for path, conversions in zip(frame.channel_path, frame.conversions, strict=True):
        steps = [f"{index + 1}. {channel}" for index, channel in enumerate(path.split(" > "))]
        steps.append("purchase")
        for source, target in itertools.pairwise(steps):
            link = (node(source), node(target))
            flows[link] = flows.get(link, 0) + float(conversions)
    figure = go.Figure(
        go.Sankey(
            node={"label": list(nodes), "pad": 14, "thickness": 14},
            link={
                "source": [source for source, _ in flows],
                "target": [target for _, target in flows],
                "value": list(flows.values()),
            },
        )
    )
    return _styled(figure, height=460)


def retention_cohorts(frame: pd.DataFrame) -> go.Figure:
    grid = frame.pivot(
        index="cohort_month", columns="months_since_first_purchase", values="retention_rate"
    ).sort_index()
    sizes = frame.groupby("cohort_month").cohort_size.max().reindex(grid.index)
    labels = [f"{month:%Y-%m} (n={size:,})" for month, size in zip(grid.index, sizes, strict=True)]
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[str(column) for column in grid.columns],
            y=labels,
            colorscale="Blues",
            zmin=0,
            zmax=100,
            texttemplate="%{z:.0f}%",
            hovertemplate="cohort %{y}<br>month %{x}: %{z:.1f}%<extra></extra>",
        )
    )
    figure.update_layout(xaxis_title="months since first purchase", yaxis_autorange="reversed")
    return _styled(figure, height=max(320, 28 * len(labels) + 120))


def multichannel_versus_single(latest: pd.DataFrame, customers: pd.DataFrame) -> go.Figure:
    figure = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=["customers", "repeat purchase rate", "CLV per customer"],
    )
    row = latest.iloc[0]
    counts = customers.set_index("is_multichannel").customers
    panels = [
        (counts.get(True, 0), counts.get(False, 0)),
        (row.multichannel_repeat_rate, row.single_channel_repeat_rate),
        (row.multichannel_clv, row.single_channel_clv),
    ]
    for col, values in enumerate(panels, start=1):
        figure.add_bar(
            x=["multichannel", "single channel"],
            y=list(values),
            marker_color=PALETTE[:2],
            showlegend=False,
            row=1,
            col=col,
        )
    figure.update_yaxes(tickformat=".0%", row=1, col=2)
    return _styled(figure, height=340)


def identity_figures(audit: IdentityAudit) -> go.Figure:
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=["match rate by source", "customers by identifiers per customer"],
    )
    sources = audit.integration_by_source
    figure.add_bar(
        x=list(sources),
        y=list(sources.values()),
        marker_color=PALETTE[0],
        showlegend=False,
        row=1,
        col=1,
    )
    sizes = audit.customers_by_size
    figure.add_bar(
        x=[str(size) for size in sizes],
        y=list(sizes.values()),
        marker_color=PALETTE[4],
        showlegend=False,
        row=1,
        col=2,
    )
    figure.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=1)
    figure.update_yaxes(type="log", row=1, col=2)
    return _styled(figure, height=360)


def sync_health(frame: pd.DataFrame) -> go.Figure:
    figure = go.Figure()
    for column, color in (
        ("confirmed", PALETTE[2]),
        ("failed", PALETTE[3]),
        ("in_doubt", PALETTE[6]),
        ("consent_blocked", "#6b7280"),
        ("frequency_capped", PALETTE[5]),
    ):
        figure.add_bar(
            name=column.replace("_", " "),
            y=frame.sync_name,
            x=frame[column],
            orientation="h",
            marker_color=color,
        )
    figure.update_layout(barmode="stack", xaxis_title="records in the latest run")
    return _styled(figure, height=max(300, 34 * len(frame) + 120))
