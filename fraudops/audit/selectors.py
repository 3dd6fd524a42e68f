"""Reading the audit log."""

from __future__ import annotations

from django.db import models
from django.db.models import QuerySet

from fraudops.audit.models import AuditEntry


def audit_entries_of(target: models.Model, *, limit: int = 50) -> QuerySet[AuditEntry]:
    """What was done to ``target``, newest first (at most ``limit`` entries)."""
    meta = target._meta
    return AuditEntry.objects.filter(
        target_type=f"{meta.app_label}.{meta.model_name}", target_id=str(target.pk)
    ).order_by("-created_at", "-id")[:limit]
