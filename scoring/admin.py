"""Admin for integrators and their keys; transactions, decisions and labels are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from fraudops.audit.selectors import audit_entries_of
from scoring import integrators, model_charts
from scoring.lifecycle import model_actions_allowed
from scoring.model_views import MANAGE_MODELS
from scoring.models import (
    ApiKey,
    Decision,
    DriftReport,
    Integrator,
    LabelEvent,
    ModelVersion,
    ThresholdCosts,
    Transaction,
)
from scoring.threshold_advice import (
    ThresholdAdvice,
    threshold_advice,
    threshold_costs_stored,
    thresholds_propose_recommended,
)
from scoring.threshold_choice import NoRecommendation

# Applying recommended thresholds is a threshold change: whoever may change them, may apply.
CHANGE_THRESHOLDS = "rules.change_scorethresholds"


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
    list_display = ["name", "label_maturity_days", "created_at"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request: HttpRequest, queryset: QuerySet[Integrator]) -> None:
        for integrator in queryset:
            issued = integrators.api_key_issue(integrator=integrator, user=request.user)
            self.message_user(
                request, f"New key for {integrator}: {issued.key} (copy it now)", messages.WARNING
            )


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "integrator", "created_at", "revoked_at"]
    list_filter = ["integrator"]
    actions = ["revoke", "rotate"]

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            integrators.api_key_revoke(api_key=api_key, user=request.user)

    @admin.action(description="Rotate the selected keys: a new key each, the old one revoked")
    def rotate(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset.filter(revoked_at__isnull=True).select_related("integrator"):
            issued = integrators.api_key_rotate(api_key=api_key, user=request.user)
            self.message_user(
                request,
                f"New key for {api_key.integrator} in place of {api_key.prefix}…: {issued.key} "
                "(copy it now; the old key no longer works)",
                messages.WARNING,
            )

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


_ACTION_LABELS = {
    "shadow_start": "Start shadow",
    "promote": "Promote to champion",
    "reject": "Reject",
    "canary": "Set canary share",
}
_ACTION_URLS = {
    "shadow_start": "models:shadow",
    "promote": "models:promote",
    "reject": "models:reject",
    "canary": "models:canary",
}


def _can_manage(request: HttpRequest) -> bool:
    return bool(request.user.has_perm(MANAGE_MODELS))


def _days(value: Any) -> str:
    return "–" if value is None else f"{value:.1f} days"


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """A trained model's page: what it was trained on, how it was labelled, how it did; and,
    for those who may, the buttons that change which model decides (they post to
    ``scoring.model_views``, which calls ``scoring.lifecycle``)."""

    list_display = [
        "name", "status", "canary_share", "trained_from", "trained_until", "created_at",
    ]  # fmt: skip
    change_form_template = "admin/scoring/modelversion/change_form.html"
    change_list_template = "admin/scoring/modelversion/change_list.html"
    list_filter = ["status"]
    ordering = ["-created_at"]
    readonly_fields = (
        "name", "status", "canary_share", "status_changed_at", "promoted_at", "created_at",
        "trained_from", "trained_until",
        "feature_set_version", "labels", "quality", "params", "data_hash", "sha256", "path",
    )  # fmt: skip
    fields = readonly_fields
    change_form_template = "admin/scoring/modelversion/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        apply = path(
            "<path:object_id>/apply-thresholds/",
            self.admin_site.admin_view(self.apply_thresholds_view),
            name="scoring_modelversion_apply_thresholds",
        )
        return [apply, *super().get_urls()]

    def apply_thresholds_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return _apply_thresholds(request, self.get_object(request, object_id))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        version = self.get_object(request, object_id)
        context = {**(extra_context or {}), "can_manage_models": _can_manage(request)}
        if version is not None:
            context["lifecycle_actions"] = [
                {
                    "name": name,
                    "label": _ACTION_LABELS[name],
                    "url": reverse(_ACTION_URLS[name], args=[version.pk]),
                }
                for name in model_actions_allowed(version)
            ]
            # Who changed its status, when and why: leads read it here (the audit log's
            # own page is the admins').
            context["model_history"] = [
                (entry, _HISTORY_WORDS.get(entry.action, entry.action))
                for entry in audit_entries_of(version)
            ]
            # The thresholds its validation window recommends (trade-off figures, an
            # "apply" button for those who may change thresholds).
            advice = threshold_advice(version=version)
            context.update(
                advice=advice,
                advice_charts=_advice_figures(advice, version),
                may_apply=request.user.has_perm(CHANGE_THRESHOLDS),
                may_change_costs=request.user.has_perm(
                    "scoring.change_thresholdcosts"
                    if advice.costs.pk
                    else "scoring.add_thresholdcosts"
                ),
            )
        return super().change_view(request, object_id, form_url, context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**(extra_context or {}), "can_manage_models": _can_manage(request)}
        return super().changelist_view(request, context)

    @admin.display(description="How its training rows were labelled")
    def labels(self, obj: ModelVersion) -> str:
        coverage = obj.label_coverage or {}
        if not coverage:
            return "not recorded (trained before label coverage was kept)"
        share = coverage.get("explicit_share")
        rows = [
            ("training transactions", f"{coverage['rows']:,}"),
            (
                "with an explicit label (chargeback, verdict, report)",
                f"{coverage['explicit']:,}" + ("" if share is None else f" ({share:.1%})"),
            ),
            ("fraud", f"{coverage['fraud']:,}"),
            ("legit by maturity (no fraud reported in time)", f"{coverage['legit_by_maturity']:,}"),
            ("fraud reported after, median", _days(coverage.get("fraud_delay_median_days"))),
            ("fraud reported after, 90th percentile", _days(coverage.get("fraud_delay_p90_days"))),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="Validation (model against rules alone)")
    def quality(self, obj: ModelVersion) -> str:
        metrics = obj.metrics or {}
        names = [
            ("average_precision", "rules_only_average_precision", "average precision"),
            ("auc_roc", "rules_only_auc_roc", "ROC AUC"),
            ("recall_at_1pct", None, "recall at 1% review rate"),
        ]
        rows = [
            (label, _figure(metrics.get(model)), _figure(metrics.get(rules) if rules else None))
            for model, rules, label in names
        ]
        return format_html(
            "<table><tr><th></th><th>model</th><th>rules only</th></tr>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", rows),
        )


def _figure(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


@require_POST
def _apply_thresholds(request: HttpRequest, version: ModelVersion | None) -> HttpResponse:
    if not request.user.has_perm(CHANGE_THRESHOLDS):
        raise PermissionDenied("You need the admin role to change thresholds.")
    if version is None:
        raise Http404("No such model version.")
    try:
        proposed = thresholds_propose_recommended(version=version, user=request.user)
    except NoRecommendation as exc:
        messages.error(request, f"No thresholds recommended for {version.name}: {exc}.")
    except ValidationError as exc:
        messages.error(request, f"The draft refused the recommendation: {exc.messages[0]}")
    else:
        applied = proposed.recommendation
        messages.success(
            request,
            f"Proposed in {proposed.draft}: review ≥ {applied.review_at:g}, decline ≥ "
            f"{applied.decline_at:g} (recommended for {version.name}); in force once someone "
            "else backtests and publishes the draft.",
        )
    return redirect("admin:scoring_modelversion_change", version.pk)


def _advice_figures(advice: ThresholdAdvice, version: ModelVersion) -> list[dict[str, str]]:
    recommendation = advice.recommendation
    if recommendation is None:
        return []
    costs = advice.costs.as_costs()
    figures = [
        model_charts.review_tradeoff(recommendation, costs),
        model_charts.decline_tradeoff(recommendation, version.threshold_curve["thresholds"], costs),
    ]
    return [
        {"id": f"threshold-figure-{i}", "figure": figure} for i, figure in enumerate(figures, 1)
    ]


# The lifecycle's audit actions (scoring/lifecycle.py) as the model's history says them.
_HISTORY_WORDS = {
    "model.shadow_start": "put in shadow",
    "model.canary": "canary share set",
    "model.kill_switch": "canary share set to 0 (kill switch)",
    "model.promote": "promoted to champion",
    "model.rollback": "champion again (rollback)",
    "model.retire": "retired",
    "model.reject": "rejected",
}


@admin.register(ThresholdCosts)
class ThresholdCostsAdmin(admin.ModelAdmin[ThresholdCosts]):
    """What thresholds are recommended from; one row."""

    list_display = ["review_cost", "reviews_per_day", "decline_fpr_ceiling", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return threshold_costs_stored().pk is None and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: ThresholdCosts, form: Any, change: bool
    ) -> None:
        obj.pk = 1  # the one row the recommendation reads
        super().save_model(request, obj, form, change)
