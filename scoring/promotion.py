"""Which model serves: promoting a trained version to champion."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from scoring.models import ModelStatus, ModelVersion


class ModelNotPromotable(Exception):
    """A version that serving would refuse, or whose quality could not be measured."""


@transaction.atomic
def model_promote(*, version: ModelVersion) -> None:
    """Make ``version`` the champion; workers switch to it within MODEL_REFRESH_SECONDS.

    Refused (ModelNotPromotable) for a version with no file hash, which serving never loads,
    and for one whose validation metrics are not computable (say, no fraud in the validation
    window): nobody could tell whether it is better or worse than the model in place.
    """
    if not version.sha256:
        raise ModelNotPromotable(f"{version.name} has no SHA-256 of its file: it never loads")
    not_computable = version.metrics.get("not_computable") or {}
    if not_computable:
        reasons = "; ".join(f"{name}: {why}" for name, why in sorted(not_computable.items()))
        raise ModelNotPromotable(
            f"{version.name} is not promoted: its metrics are not computable ({reasons}). "
            "Train again when the validation window holds labelled fraud."
        )
    now = timezone.now()
    ModelVersion.objects.filter(status=ModelStatus.CHAMPION).exclude(pk=version.pk).update(
        status=ModelStatus.RETIRED, status_changed_at=now
    )
    version.status = ModelStatus.CHAMPION
    version.promoted_at = version.status_changed_at = now
    version.canary_share = 0.0
    version.save(update_fields=["status", "promoted_at", "status_changed_at", "canary_share"])
