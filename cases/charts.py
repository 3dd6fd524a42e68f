"""Plotly figures for the case page (built on the server, drawn by the vendored plotly.js)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from scoring.features.catalogue import feature_label
from scoring.waterfall import Waterfall, logit, sigmoid

TOP = 12
TOWARD_FRAUD, TOWARD_LEGIT, OTHERS, CALIBRATION, SCORE = (
    "#b42318", "#067647", "#667085", "#6941c6", "#1d2939",
)  # fmt: skip
# Where the log-odds axis is ticked, in probability.
PROBABILITY_TICKS = (0.0001, 0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999)
BASE_LABEL, SCORE_LABEL = "Base rate (the model's average)", "This decision's score"


def percent(probability: float) -> str:
    """A probability as a person reads it: "0.32%", "12.5%"."""
    return f"{probability:.2%}" if probability < 0.01 else f"{probability:.1%}"


def shap_waterfall_json(walk: Waterfall) -> str:
    """The score as a walk from the base rate to the decision's score, one bar per step, in
    log-odds (where contributions add up) with the axis ticked in probability."""
    steps = walk.steps
    rows = [BASE_LABEL, *(step.label for step in steps), SCORE_LABEL]
    colors = [
        OTHERS if s.kind == "others" else CALIBRATION if s.kind == "calibration"
        else TOWARD_FRAUD if s.delta > 0 else TOWARD_LEGIT
        for s in steps
    ]  # fmt: skip
    after = [f"{s.delta:+.2f} log-odds → {percent(sigmoid(s.end))}" for s in steps]
    final = walk.final
    bars = go.Bar(
        y=[*rows[1:-1], SCORE_LABEL],
        x=[*(s.delta for s in steps), final - walk.base],
        base=[*(s.start for s in steps), walk.base],
        orientation="h",
        marker_color=[*colors, SCORE],
        text=[*(f"{s.delta:+.2f}" for s in steps), percent(walk.score)],
        textposition="outside",
        cliponaxis=False,
        hovertext=[*after, f"score {percent(walk.score)}"],
        hoverinfo="y+text",
        showlegend=False,
    )
    base_mark = go.Scatter(
        y=[BASE_LABEL], x=[walk.base], mode="markers+text", marker={"size": 12, "color": SCORE},
        text=[percent(sigmoid(walk.base))], textposition="middle right", showlegend=False,
        hovertext=[f"base rate {percent(sigmoid(walk.base))}"], hoverinfo="text",
    )  # fmt: skip
    ends = [walk.base, final, *(s.end for s in steps)]
    low, high = min(ends) - 0.5, max(ends) + 0.5
    ticks = [p for p in PROBABILITY_TICKS if low <= logit(p) <= high]
    figure = go.Figure([bars, base_mark])
    figure.update_layout(
        height=80 + 28 * len(rows),
        margin={"l": 10, "r": 40, "t": 10, "b": 50},
        xaxis={
            "title": "log-odds of fraud (ticks show the probability)",
            "range": [low, high],
            "tickvals": [logit(p) for p in ticks],
            "ticktext": [percent(p) for p in ticks],
            "zeroline": False,
        },
        yaxis={"automargin": True, "autorange": "reversed", "categoryorder": "array",
               "categoryarray": rows},
    )  # fmt: skip
    json_text: str = figure.to_json()
    return json_text


def shap_bar_json(contributions: list[tuple[str, float]]) -> str | None:
    """A horizontal bar per stored reason: its contribution to the fraud score (log-odds).
    Only when the model cannot be asked again for the walk from its base rate."""
    if not contributions:
        return None
    top = list(reversed(contributions[:TOP]))  # plotly draws the first bar at the bottom
    figure = go.Figure(
        go.Bar(
            x=[value for _, value in top],
            y=[feature_label(name) for name, _ in top],
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
    if not groups:  # say so, rather than draw empty axes from -1 to 6
        figure.add_annotation(
            text="Nothing in this period", showarrow=False, font={"size": 14},
            xref="paper", yref="paper", x=0.5, y=0.5,
        )  # fmt: skip
        figure.update_xaxes(visible=False)
        figure.update_yaxes(visible=False)
    return _layout(figure, title=title, barmode="group")
