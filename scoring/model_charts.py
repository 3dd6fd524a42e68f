"""Plotly figures of the model pages: champion against challenger, and a model's threshold
trade-off (built on the server as JSON, drawn by the vendored plotly.js; no database)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from scoring.compare_metrics import ModelMeasures
from scoring.threshold_choice import Costs, Recommendation

CHAMPION, CHALLENGER = "#1d4ed8", "#b54708"

# (label, attribute of ModelMeasures) in the order the bars are drawn.
METRICS = (
    ("average precision", "average_precision"),
    ("ROC AUC", "roc_auc"),
    ("recall at the review rate", "recall_at_review_rate"),
    ("precision at decline", "precision_at_decline"),
)


def _json(figure: go.Figure, *, title: str, height: int = 320, **layout: Any) -> str:
    figure.update_layout(
        title={"text": title, "x": 0},
        height=height,
        margin=layout.pop("margin", {"l": 50, "r": 10, "t": 40, "b": 40}),
        legend={"orientation": "h", "y": -0.25},
        **layout,
    )
    json_text: str = figure.to_json()
    return json_text


def metric_bars(champion: ModelMeasures, challenger: ModelMeasures, names: tuple[str, str]) -> str:
    """The four ranking figures side by side (a metric that cannot be computed has no bar)."""
    labels = [label for label, _ in METRICS]
    figure = go.Figure(
        [
            go.Bar(
                name=name,
                x=labels,
                y=[getattr(measures, attribute) for _, attribute in METRICS],
                marker_color=color,
            )
            for name, measures, color in (
                (names[0], champion, CHAMPION),
                (names[1], challenger, CHALLENGER),
            )
        ]
    )
    return _json(figure, title="Champion and challenger", barmode="group", yaxis={"range": [0, 1]})


def reliability_curve(
    champion: ModelMeasures, challenger: ModelMeasures, names: tuple[str, str]
) -> str:
    """Observed fraud rate against the mean score per bin: on the diagonal is well
    calibrated."""
    traces = [
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated",
            line={"dash": "dot", "color": "#98a2b3"},
        )
    ]  # fmt: skip
    for name, measures, color in (
        (names[0], champion, CHAMPION),
        (names[1], challenger, CHALLENGER),
    ):
        traces.append(
            go.Scatter(
                x=[b.mean_score for b in measures.reliability],
                y=[b.fraud_rate for b in measures.reliability],
                text=[f"{b.rows} decisions" for b in measures.reliability],
                mode="lines+markers",
                name=name,
                marker_color=color,
            )
        )
    return _json(
        go.Figure(traces),
        title="Reliability: observed fraud rate by score",
        xaxis={"title": "mean score in the bin", "range": [0, 1]},
        yaxis={"title": "fraud rate", "range": [0, 1]},
    )


def score_distributions(
    champion: ModelMeasures, challenger: ModelMeasures, names: tuple[str, str]
) -> str:
    """Decisions per score bin for each model (log scale: most scores are near 0)."""
    bins = len(champion.histogram)
    centres = [(i + 0.5) / bins for i in range(bins)]
    figure = go.Figure(
        [
            go.Bar(name=name, x=centres, y=measures.histogram, marker_color=color, opacity=0.6)
            for name, measures, color in (
                (names[0], champion, CHAMPION),
                (names[1], challenger, CHALLENGER),
            )
        ]
    )
    return _json(
        figure,
        title="Score distributions",
        barmode="overlay",
        xaxis={"title": "score", "range": [0, 1]},
        yaxis={"title": "decisions", "type": "log"},
    )


def _recommended(x: float, y: float, text: str) -> go.Scatter:
    return go.Scatter(
        x=[x], y=[y], mode="markers+text", name="recommended", text=[text],
        textposition="top center", cliponaxis=False,
        marker={"size": 12, "color": "#b42318", "symbol": "star"},
    )  # fmt: skip


def review_tradeoff(recommendation: Recommendation, costs: Costs) -> str:
    """Expected cost and reviews per day for each review threshold (decline fixed at the
    recommended one), the capacity as a line and the recommendation marked."""
    tradeoff = recommendation.tradeoff
    figure = go.Figure(
        [
            go.Scatter(
                x=tradeoff.thresholds, y=tradeoff.cost_per_day, mode="lines",
                name="expected cost per day (reviews + fraud missed)", line={"color": CHAMPION},
            ),
            go.Scatter(
                x=tradeoff.thresholds, y=tradeoff.reviews_per_day, mode="lines",
                name="reviews per day", yaxis="y2", line={"color": CHALLENGER},
            ),
            _recommended(
                recommendation.review_at, recommendation.cost_per_day,
                f"review ≥ {recommendation.review_at:g}",
            ),
        ]
    )  # fmt: skip
    figure.add_hline(
        y=costs.reviews_per_day, yref="y2", line_dash="dot", line_color=CHALLENGER,
        annotation_text="capacity", annotation_position="top left",
    )  # fmt: skip
    return _json(
        figure,
        title="Review threshold: cost and workload (validation window)",
        xaxis={"title": "review threshold", "type": "log"},
        yaxis={"title": "cost per day", "rangemode": "tozero"},
        yaxis2={
            "title": "reviews per day", "overlaying": "y", "side": "right", "rangemode": "tozero",
        },
        margin={"l": 50, "r": 60, "t": 40, "b": 40},  # room for the right axis's title
    )  # fmt: skip


def decline_tradeoff(recommendation: Recommendation, thresholds: list[float], costs: Costs) -> str:
    """The share of legit payments each decline threshold would refuse, the ceiling and the
    recommendation."""
    figure = go.Figure(
        [
            go.Scatter(
                x=thresholds, y=recommendation.tradeoff.decline_fpr, mode="lines",
                name="legit payments declined", line={"color": CHAMPION},
            ),
            _recommended(
                recommendation.decline_at, recommendation.decline_fpr,
                f"decline ≥ {recommendation.decline_at:g}",
            ),
        ]
    )  # fmt: skip
    # The ceiling as a trace, not add_hline: on a log axis Plotly puts an hline's label at
    # the wrong height.
    figure.add_trace(
        go.Scatter(
            x=[min(thresholds), max(thresholds)], y=[costs.decline_fpr_ceiling] * 2,
            mode="lines", name="ceiling", line={"dash": "dot", "color": "#b42318"},
        )
    )  # fmt: skip
    return _json(
        figure,
        title="Decline threshold: legit payments declined (validation window)",
        xaxis={"title": "decline threshold"},
        yaxis={"title": "legit payments declined", "type": "log", "tickformat": ".2~%"},
    )
