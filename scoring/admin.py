"""Admin for integrators and their keys; transactions, decisions and labels are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from scoring import integrators
from scoring.models import ApiKey, Decision, DriftReport, Integrator, LabelEvent, Transaction


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApiKeyInline(admin.TabularInline[ApiKey, Integrator]):
    model = ApiKey
    fields = readonly_fields = ("prefix", "created_at", "revoked_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Integrator)
class IntegratorAdmin(admin.ModelAdmin[Integrator]):
    list_display = ["name", "created_at"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request: HttpRequest, queryset: QuerySet[Integrator]) -> None:
        for integrator in queryset:
            issued = integrators.api_key_issue(integrator=integrator)
            self.message_user(
                request, f"New key for {integrator}: {issued.key} (copy it now)", messages.WARNING
            )


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "integrator", "created_at", "revoked_at"]
    list_filter = ["integrator"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            integrators.api_key_revoke(api_key=api_key)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Keys are revoked with the action (which also drops them from the cache), not edited.
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["transaction_id", "integrator", "occurred_at", "amount", "currency", "channel"]
    list_filter = ["integrator", "channel", "currency"]
    search_fields = ["transaction_id", "customer_id", "card_id", "merchant_id"]
    date_hierarchy = "occurred_at"


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "outcome", "score", "degraded", "latency_ms", "created_at"]
    list_filter = ["outcome", "degraded", "model_version"]
    search_fields = ["transaction__transaction_id"]
    list_select_related = ["transaction"]
    # The newest first: the decision someone just made, not a random UUID's.
    ordering = ["-created_at"]


@admin.register(LabelEvent)
class LabelEventAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "label", "source", "reported_at"]
    list_filter = ["label", "source"]
    list_select_related = ["transaction"]


@admin.register(DriftReport)
class DriftReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "model_version", "current_decisions", "shifted"]
