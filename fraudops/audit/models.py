"""One audit entry per change a person (or the system, on a schedule) made.

Append-only: the application cannot update or delete an entry. :class:`AuditEntry` refuses a
second ``save()`` and ``delete()``, its queryset refuses ``update()`` and ``delete()``, and the
database refuses both too (a trigger, see the migration), so neither a bug nor a shell session
through the ORM rewrites history.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class AppendOnly(Exception):
    """An attempt to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("audit entries cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit entries cannot be deleted")


class AuditEntry(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who, as a name at the time (a later rename or deletion of the user keeps the record);
    # "system" for a scheduled job.
    actor = models.CharField(max_length=150)
    # "<area>.<verb>", e.g. "model.promote" (see the callers for the list).
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=100)  # "<app_label>.<model>"
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    changes: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit entries cannot be deleted")
