"""The audit log in admin: read-only, filterable, exportable as CSV."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from fraudops.audit.models import AuditEntry
from fraudops.csv_cells import csv_row_safe

CSV_COLUMNS = (
    "created_at", "actor", "action", "target_type", "target_id", "target_repr", "reason",
    "changes",
)  # fmt: skip


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = ["created_at", "actor", "action", "target_repr", "reason"]
    list_filter = ["action", "target_type", "actor", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["target_repr", "reason", "actor"]
    date_hierarchy = "created_at"
    readonly_fields = fields = CSV_COLUMNS
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Export the selected entries as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for entry in queryset.order_by("created_at", "id"):
            writer.writerow(csv_row_safe([getattr(entry, column) for column in CSV_COLUMNS]))
        return response
