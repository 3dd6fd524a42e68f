from typing import Any

from django.contrib import admin

from cases.models import Case, CaseEvent, Queue


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin[Queue]):
    list_display = ["name", "position", "sla_minutes", "match_rule", "match_channel", "min_amount"]
    list_editable = ["position", "sla_minutes"]
    filter_horizontal = ["analysts"]


class CaseEventInline(admin.TabularInline[CaseEvent, Case]):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = [
        "created_at", "actor", "action", "from_status", "to_status", "from_assignee",
        "to_assignee", "reason",
    ]  # fmt: skip

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    """Read-only here: cases change through the workbench, which records every change."""

    list_display = ["pk", "queue", "status", "priority", "assignee", "verdict", "created_at"]
    list_filter = ["status", "queue", "verdict"]
    inlines = [CaseEventInline]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False
