"""Plotly figures of the per-rule page and the console (built on the server as JSON, drawn by
the vendored plotly.js through static/js/kpis.js; no database)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import plotly.graph_objects as go


def _day_axis(days: list[date]) -> dict[str, Any]:
    """An axis of whole days: a tick a day, or every few days over a long period."""
    every = max(1, math.ceil(len(days) / 14))
    return {"type": "date", "tickformat": "%b %d", "dtick": every * 86_400_000}


def _json(figure: go.Figure, days: list[date], *, title: str, yaxis: str) -> str:
    figure.update_layout(
        title={"text": title, "x": 0},
        height=340,
        margin={"l": 50, "r": 50, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        xaxis=_day_axis(days),
        yaxis={"title": {"text": yaxis}, "rangemode": "tozero"},
    )
    json_text: str = figure.to_json()
    return json_text


def hits_trend(days: list[date], series: Mapping[str, list[int]], decisions: list[int]) -> str:
    """A line per rule: its hits per day (left axis); the day's decisions as bars behind them
    (right axis).

    Written as the figure's JSON directly: plotly's Figure validates every point of every
    trace, which took a tenth of the page's time budget for a dozen rules over two months.
    """
    x = [day.isoformat() for day in days]
    traces: list[dict[str, Any]] = [
        {
            "type": "bar", "name": "decisions", "x": x, "y": decisions,
            "marker": {"color": "#e3e6ea"}, "hovertemplate": "%{y} decisions<extra></extra>",
        }
    ]  # fmt: skip
    traces += [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": name,
            "x": x,
            "y": values,
            "yaxis": "y2",
        }
        for name, values in series.items()
    ]
    layout = {
        "title": {"text": "Hits per day", "x": 0},
        "height": 340,
        "margin": {"l": 50, "r": 60, "t": 40, "b": 40},
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": _day_axis(days),
        # The lines on the overlaying axis, which plotly draws above the bars.
        "yaxis": {
            "title": {"text": "decisions"}, "side": "right", "showgrid": False,
            "rangemode": "tozero",
        },
        "yaxis2": {
            "title": {"text": "hits"}, "overlaying": "y", "side": "left", "rangemode": "tozero",
        },
    }  # fmt: skip
    return json.dumps({"data": traces, "layout": layout})


def matches_over_time(days: list[date], matched: list[int], scanned: list[int]) -> str:
    """The console's matches per day against the decisions scanned that day."""
    figure = go.Figure(
        [
            go.Bar(name="matched", x=days, y=matched, marker_color="#b42318"),
            go.Scatter(
                name="scanned", x=days, y=scanned, mode="lines", yaxis="y2",
                line={"color": "#667085", "dash": "dot"},
            ),
        ]
    )  # fmt: skip
    figure.update_layout(
        yaxis2={
            "overlaying": "y", "side": "right", "showgrid": False, "rangemode": "tozero",
            "title": "scanned",
        }
    )  # fmt: skip
    return _json(figure, days, title="Matching decisions per day", yaxis="matches")
