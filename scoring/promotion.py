"""Which model serves: promoting a trained version to active."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from scoring.models import ModelVersion


class ModelNotPromotable(Exception):
    """A version that serving would refuse, or whose quality could not be measured."""


@transaction.atomic
def model_promote(*, version: ModelVersion) -> None:
    """Make ``version`` the active model; workers switch to it within MODEL_REFRESH_SECONDS.

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
    ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    version.is_active = True
    version.promoted_at = timezone.now()
    version.save(update_fields=["is_active", "promoted_at"])
