"""Plotly figures for the case page (built on the server, drawn by the vendored plotly.js)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

TOP = 12


def shap_bar_json(contributions: list[tuple[str, float]]) -> str | None:
    """A horizontal bar per stored reason: its contribution to the fraud score (log-odds)."""
    if not contributions:
        return None
    top = list(reversed(contributions[:TOP]))  # plotly draws the first bar at the bottom
    figure = go.Figure(
        go.Bar(
            x=[value for _, value in top],
            y=[name for name, _ in top],
            orientation="h",
            marker_color=["#b42318" if value > 0 else "#067647" for _, value in top],
        )
    )
    figure.update_layout(
        height=40 + 26 * len(top),
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis_title="contribution to the fraud score (log-odds)",
        yaxis={"automargin": True},
    )
    json_text: str = figure.to_json()
    return json_text


def _layout(figure: go.Figure, *, title: str, barmode: str | None = None) -> str:
    figure.update_layout(
        title={"text": title, "x": 0},
        height=300,
        margin={"l": 40, "r": 10, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.2},
        barmode=barmode,
    )
    json_text: str = figure.to_json()
    return json_text


def stacked_bars(
    days: list[Any], series: dict[str, list[float | None]], *, title: str, colors: dict[str, str]
) -> str:
    """One stacked bar per day (e.g. decisions by outcome)."""
    figure = go.Figure(
        [
            go.Bar(name=name, x=days, y=values, marker_color=colors.get(name))
            for name, values in series.items()
        ]
    )
    return _layout(figure, title=title, barmode="stack")


def line(days: list[Any], values: list[float | None], *, title: str, name: str) -> str:
    figure = go.Figure(go.Scatter(x=days, y=values, mode="lines+markers", name=name))
    return _layout(figure, title=title)


def grouped_bars(groups: dict[str, dict[str, int]], *, title: str, colors: dict[str, str]) -> str:
    """groups: x label → series name → value (e.g. analyst → verdict → cases)."""
    names = sorted({name for values in groups.values() for name in values})
    figure = go.Figure(
        [
            go.Bar(
                name=name,
                x=list(groups),
                y=[groups[label].get(name, 0) for label in groups],
                marker_color=colors.get(name),
            )
            for name in names
        ]
    )
    return _layout(figure, title=title, barmode="group")
