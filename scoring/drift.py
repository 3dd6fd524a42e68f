"""Drift checks: how far recent decisions' features and scores moved from a reference week.

A Celery beat task runs ``drift_check`` every 6 hours and stores a ``DriftReport``; the formula
(PSI) is pure, in ``scoring/psi.py``. A feature has shifted at a PSI of SHIFTED (0.2); the score,
binned by its plateaus, at SCORE_SHIFTED (0.1) once the last day holds MIN_SCORES of the
champion's scores (fewer, and the lower bar would be noise: 0.2 applies). A shifted score, or a
shifted feature among the ones the champion leans on most (its TOP_FEATURES by gain), is an
alert (``DriftReport.alerts``): a
banner on every staff page, a Prometheus gauge, and, with RETRAIN_ON_DRIFT, an early retrain.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import ModelLoadError
from scoring.models import Decision, DriftReport, ModelVersion
from scoring.psi import SCORE_SHIFTED, SHIFTED, plateau_edges, psi
from scoring.serving import version_scorer

logger = logging.getLogger(__name__)

DRIFT_CURRENT = timedelta(days=1)
DRIFT_REFERENCE = timedelta(days=7)
# The features whose shift raises an alert: the champion's most important ones.
TOP_FEATURES = 10
# Fewer of the champion's own scores than this in its validation week: the score's reference
# is its first week of live scores instead (decisions before it carry another model's score).
# Fewer in the last day: the score's bar is SHIFTED, as a feature's.
MIN_SCORES = 100
# The score's PSI bins at this many decimals. A stored score is an isotonic plateau plus a
# tie-break of at most 1e-6 (``Calibration.TIE_BREAK``) that only keeps the model's ranking;
# deciles of unrounded scores cut the big plateaus (three hold ~90% of payments) by that
# tie-break, so they measured the raw order inside a probability the model calls equal:
# noise (about 0.1 of PSI on a day without drift). Rounded, a plateau is one value, and the
# reference's quantile edges merge on it (ties merged): its bins are the probabilities.
SCORE_DECIMALS = 4


def drift_check(*, now: datetime | None = None) -> DriftReport:
    """Compare the last day's decisions with a reference week, feature by feature (PSI).

    The reference is the week before the active model's training window ended (what it was
    validated on), or, with no model, the week before the last day.
    """
    now = now or timezone.now()
    current_from = now - DRIFT_CURRENT
    active = ModelVersion.objects.champion()
    reference_until = current_from if active is None else min(active.trained_until, current_from)
    reference_from = reference_until - DRIFT_REFERENCE
    reference = _recorded(reference_from, reference_until)
    current = _recorded(current_from, now)
    values = {}
    for name in FEATURE_NAMES:
        values[name] = round(
            psi([row.get(name) for row in reference], [row.get(name) for row in current]), 4
        )
    reference_scores, current_scores = _scores(active, reference_from, reference_until, now)
    values["score"] = round(
        psi(reference_scores, current_scores, edges=plateau_edges(reference_scores)), 4
    )
    bars = {"score": SCORE_SHIFTED if len(current_scores) >= MIN_SCORES else SHIFTED}
    shifted = sorted(
        (n for n, v in values.items() if v >= bars.get(n, SHIFTED)), key=lambda n: -values[n]
    )
    watched = {"score", *(FEATURE_NAMES if active is None else top_features(active))}
    report = DriftReport.objects.create(
        model_version=None if active is None else active.name,
        reference_from=reference_from, reference_until=reference_until,
        current_from=current_from, current_until=now,
        reference_decisions=len(reference), current_decisions=len(current),
        psi=values, shifted=shifted, alerts=[n for n in shifted if n in watched],
    )  # fmt: skip
    if shifted:
        logger.warning("drift: %s shifted", ", ".join(f"{n} (PSI {values[n]})" for n in shifted))
    return report


def top_features(version: ModelVersion, n: int = TOP_FEATURES) -> tuple[str, ...]:
    """The ``n`` features ``version`` gains most from; every feature if its file cannot be
    loaded (then nobody can tell which matter, so any shift is worth an alert)."""
    try:
        scorer = version_scorer(version)
    except (ModelLoadError, KeyError, TypeError, ValueError) as exc:
        logger.warning("drift: the top features of %s are unknown: %s", version.name, exc)
        return FEATURE_NAMES
    gains = scorer.importances()
    return tuple(sorted(gains, key=lambda name: -gains[name])[:n])


def _scores(
    active: ModelVersion | None, since: datetime, until: datetime, now: datetime
) -> tuple[list[float | None], list[float | None]]:
    """The champion's own scores: in the reference window, or if it scored too few there (it
    was validated on decisions another model, or none, scored) its first week of live scores;
    and in the last day. With no champion, every decision's score."""
    current_from = now - DRIFT_CURRENT
    decisions = Decision.objects.all()
    if active is not None:
        decisions = decisions.filter(model_version=active.name)
    reference = _scores_between(decisions, since, until)
    if active is not None and len(reference) < MIN_SCORES:
        first = (
            decisions.filter(transaction__occurred_at__lt=current_from)
            .order_by("transaction__occurred_at")
            .values_list("transaction__occurred_at", flat=True)
            .first()
        )
        if first is not None:
            reference = _scores_between(
                decisions, first, min(first + DRIFT_REFERENCE, current_from)
            )
    return reference, _scores_between(decisions, current_from, now)


def _scores_between(
    decisions: QuerySet[Decision], since: datetime, until: datetime
) -> list[float | None]:
    scores = decisions.filter(
        transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
    )
    return [
        None if score is None else round(score, SCORE_DECIMALS)
        for score in scores.values_list("score", flat=True).iterator(chunk_size=5000)
    ]


def _recorded(since: datetime, until: datetime) -> list[dict[str, float | None]]:
    """Each decision's features and score, for transactions that occurred in [since, until)."""
    rows = Decision.objects.filter(
        transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
    ).values_list("features", "score")
    return [{**features, "score": score} for features, score in rows.iterator(chunk_size=5000)]
