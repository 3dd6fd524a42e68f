"""Plotly figures for the case page (built on the server, drawn by the vendored plotly.js)."""

from __future__ import annotations

import plotly.graph_objects as go

TOP = 12


def shap_bar_json(contributions: list[tuple[str, float]]) -> str | None:
    """A horizontal bar per feature: its contribution to the fraud score (log-odds)."""
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
