"""Plotly figures of the per-rule page and the console (built on the server as JSON, drawn by
the vendored plotly.js through static/js/kpis.js; no database)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import plotly.graph_objects as go


def _json(figure: go.Figure, *, title: str, yaxis: str) -> str:
    figure.update_layout(
        title={"text": title, "x": 0},
        height=340,
        margin={"l": 50, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        yaxis_title=yaxis,
    )
    json_text: str = figure.to_json()
    return json_text


def hits_trend(days: list[date], series: Mapping[str, list[int]], decisions: list[int]) -> str:
    """A line per rule: its hits per day; the day's decisions as bars behind them."""
    figure = go.Figure(
        go.Bar(
            name="decisions", x=days, y=decisions, marker_color="#e3e6ea", yaxis="y2",
            hovertemplate="%{y} decisions<extra></extra>",
        )
    )  # fmt: skip
    for name, values in series.items():
        figure.add_trace(go.Scatter(name=name, x=days, y=values, mode="lines+markers"))
    figure.update_layout(
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": "decisions"}
    )
    return _json(figure, title="Hits per day", yaxis="hits")


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
        yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": "scanned"}
    )
    return _json(figure, title="Matching decisions per day", yaxis="matches")
