"""Pages for people: the live decision feed, and champion against challenger."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases.roles import can_compare_models
from scoring import model_charts
from scoring.comparison import Comparison, comparison_build
from scoring.selectors import decisions_recent, outcome_counts_since


def _staff_only(request: HttpRequest) -> None:
    # Signed in without staff rights: the friendly 403 page that says which role is needed,
    # not the admin's login page (which reads as "you are not signed in").
    if not request.user.is_staff:
        raise PermissionDenied(
            "The live decision feed is for staff accounts (in the demo: leads and managers)."
        )


@login_required
def decisions_live(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    return render(request, "scoring/decisions_live.html")


@login_required
def decisions_live_rows(request: HttpRequest) -> HttpResponse:
    """The feed's rows; the page polls this (a firehose is cheaper polled than pushed)."""
    _staff_only(request)
    context = {
        "decisions": decisions_recent(limit=50),
        "counts": outcome_counts_since(since=timezone.now() - timedelta(minutes=1)),
    }
    return render(request, "scoring/_decision_rows.html", context)


# Below this many labelled frauds the page warns that its figures are a small sample.
FEW_FRAUD_LABELS = 30


@require_GET
@login_required
def model_compare(request: HttpRequest) -> HttpResponse:
    """The champion against the challenger in shadow, on the labelled shadow window."""
    if not can_compare_models(request.user):
        raise PermissionDenied("You need the manager, lead or admin role.")
    comparison = comparison_build(moment=timezone.now())
    context = {
        "c": comparison,
        "metric_rows": _metric_rows(comparison),
        "few_labels": comparison.fraud < FEW_FRAUD_LABELS,
        "charts": [
            {"id": f"compare-figure-{i}", "figure": figure}
            for i, figure in enumerate(_compare_figures(comparison), start=1)
        ],
    }
    return render(request, "scoring/compare.html", context)


def _compare_figures(comparison: Comparison) -> list[str]:
    champion, challenger = comparison.champion_measures, comparison.challenger_measures
    if champion is None or challenger is None or comparison.champion is None:
        return []
    names = (f"champion {comparison.champion}", f"challenger {comparison.challenger}")
    return [
        model_charts.metric_bars(champion, challenger, names),
        model_charts.reliability_curve(champion, challenger, names),
        model_charts.score_distributions(champion, challenger, names),
    ]


def _metric_rows(comparison: Comparison) -> list[tuple[str, float | None, float | None]]:
    champion, challenger = comparison.champion_measures, comparison.challenger_measures
    if champion is None or challenger is None:
        return []
    named = (
        *model_charts.METRICS,
        ("Brier score (lower is better calibrated)", "brier"),
        ("calibration error (ECE, lower is better)", "calibration_error"),
    )
    return [
        (label, getattr(champion, attribute), getattr(challenger, attribute))
        for label, attribute in named
    ]
