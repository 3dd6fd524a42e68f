"""Drift checks: how far recent decisions' features and scores moved from a reference week.

A Celery beat task runs ``drift_check`` daily and stores a ``DriftReport``; the formula (PSI)
is pure, in ``scoring/psi.py``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from scoring.features.definitions import FEATURE_NAMES
from scoring.models import Decision, DriftReport, ModelStatus, ModelVersion
from scoring.psi import SHIFTED, psi

logger = logging.getLogger(__name__)

DRIFT_CURRENT = timedelta(days=1)
DRIFT_REFERENCE = timedelta(days=7)


def drift_check(*, now: datetime | None = None) -> DriftReport:
    """Compare the last day's decisions with a reference week, feature by feature (PSI).

    The reference is the week before the active model's training window ended (what it was
    validated on), or, with no model, the week before the last day.
    """
    now = now or timezone.now()
    current_from = now - DRIFT_CURRENT
    active = ModelVersion.objects.filter(status=ModelStatus.CHAMPION).first()
    reference_until = current_from if active is None else min(active.trained_until, current_from)
    reference_from = reference_until - DRIFT_REFERENCE
    reference = _recorded(reference_from, reference_until)
    current = _recorded(current_from, now)
    values = {}
    for name in (*FEATURE_NAMES, "score"):
        values[name] = round(
            psi([row.get(name) for row in reference], [row.get(name) for row in current]), 4
        )
    shifted = sorted((n for n, v in values.items() if v >= SHIFTED), key=lambda n: -values[n])
    report = DriftReport.objects.create(
        model_version=None if active is None else active.name,
        reference_from=reference_from, reference_until=reference_until,
        current_from=current_from, current_until=now,
        reference_decisions=len(reference), current_decisions=len(current),
        psi=values, shifted=shifted,
    )  # fmt: skip
    if shifted:
        logger.warning("drift: %s shifted (PSI >= %.1f)", ", ".join(shifted), SHIFTED)
    return report


def _recorded(since: datetime, until: datetime) -> list[dict[str, float | None]]:
    """Each decision's features and score, for transactions that occurred in [since, until)."""
    rows = Decision.objects.filter(
        transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
    ).values_list("features", "score")
    return [{**features, "score": score} for features, score in rows.iterator(chunk_size=5000)]
