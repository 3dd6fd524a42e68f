"""The drafts' admin: a draft's page shows what it changes, its backtests (run as a Celery task,
the page polls their progress) and the publish, discard and rollback buttons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from rules import draft_changes, drafts
from rules.models import DraftStatus, ListEntity, ListType, PolicyBacktest, PolicyDraft
from rules.selectors import thresholds_stored
from rules.tasks import backtest_request


class BacktestForm(forms.Form):
    days = forms.IntegerField(min_value=1, max_value=730, initial=30)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "cols": 80}))


class RollbackForm(forms.Form):
    reason = forms.CharField(max_length=2000)


class BulkListForm(forms.Form):
    """One entry a line: ``list_type,entity,value[,reason]`` (e.g. ``block,card,card-123``)."""

    lines = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))

    def clean_lines(self) -> list[tuple[str, str, str, str, datetime | None]]:
        entries: list[tuple[str, str, str, str, datetime | None]] = []
        for number, line in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split(",", 3)]
            if len(parts) < 3:
                raise ValidationError(f"Line {number}: give list_type,entity,value[,reason].")
            list_type, entity, value = parts[:3]
            if list_type not in ListType.values or entity not in ListEntity.values:
                raise ValidationError(f"Line {number}: unknown list {list_type!r} or {entity!r}.")
            entries.append((list_type, entity, value, parts[3] if len(parts) > 3 else "", None))
        if not entries:
            raise ValidationError("Give at least one entry.")
        return entries


@admin.register(PolicyDraft)
class PolicyDraftAdmin(admin.ModelAdmin[PolicyDraft]):
    list_display = ["__str__", "author", "status", "reason", "created_at", "published_by"]
    list_filter = ["status"]
    search_fields = ["reason"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a draft is made by editing a rule, a list or the thresholds

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # discarded, never deleted: its publish may be in the audit log

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any, name: str, route: str) -> URLPattern:
            wrapped: Any = self.admin_site.admin_view(function)
            pattern: URLPattern = path(route, wrapped, name=name)
            return pattern

        return [
            view(self.publish_view, "rules_policydraft_publish", "<int:pk>/publish/"),
            view(self.discard_view, "rules_policydraft_discard", "<int:pk>/discard/"),
            view(self.reason_view, "rules_policydraft_reason", "<int:pk>/reason/"),
            view(self.lists_view, "rules_policydraft_lists", "<int:pk>/lists/"),
            view(self.backtest_view, "rules_policydraft_backtest", "<int:pk>/backtest/"),
            view(self.rollback_view, "rules_policydraft_rollback", "<int:pk>/rollback/"),
            view(
                self.backtest_status_view,
                "rules_policydraft_backtest_status",
                "backtests/<int:pk>/status",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        draft = get_object_or_404(PolicyDraft, pk=object_id)
        return self._page(request, draft)

    def _page(
        self, request: HttpRequest, draft: PolicyDraft, *, error: str = "", status: int = 200,
        forms_: dict[str, forms.Form] | None = None,
    ) -> TemplateResponse:  # fmt: skip
        changes = draft_changes.changes_from(draft.changes)
        stored = thresholds_stored()
        backtests = list(draft.backtests.all()[:10])
        current_hash = drafts.draft_content_hash(draft)
        context = {
            **self.admin_site.each_context(request),
            "title": str(draft),
            "opts": self.model._meta,
            "draft": draft,
            "changes": changes,
            "thresholds_now": stored,
            "backtests": backtests,
            "current_hash": current_hash,
            "latest": next((b for b in backtests if b.content_hash == current_hash), None),
            "refusal": drafts.publish_refusal(draft=draft, user=request.user),
            "error": error,
            "is_open": draft.status == DraftStatus.DRAFT,
            "backtest_form": BacktestForm(),
            "reason_form": ReasonForm(initial={"reason": draft.reason}),
            "lists_form": BulkListForm(),
            "rollback_form": RollbackForm(),
            **(forms_ or {}),
        }
        template = "admin/rules/policydraft/draft.html"
        return TemplateResponse(request, template, context, status=status)

    def _back(self, draft: PolicyDraft) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:rules_policydraft_change", args=[draft.pk]))

    def _editable(self, request: HttpRequest, pk: int, *, author_only: bool = False) -> PolicyDraft:
        """The draft, when this person may change it (its content: only its author)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        draft = get_object_or_404(PolicyDraft, pk=pk)
        if author_only and draft.author_id != request.user.pk:
            raise PermissionDenied("Only its author changes a draft (four eyes).")
        return draft

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        draft = get_object_or_404(PolicyDraft, pk=pk)
        try:
            published = drafts.draft_publish(draft=draft, user=request.user)
        except drafts.PublishRefused as exc:
            return self._page(request, draft, error=str(exc), status=403)
        messages.success(
            request, f"Published {published}: revision {published.published_revision}."
        )
        return self._back(published)

    def discard_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        draft = self._editable(request, pk)
        try:
            drafts.draft_discard(draft=draft, user=request.user)
        except drafts.DraftNotOpen as exc:
            return self._page(request, draft, error=str(exc), status=400)
        return self._back(draft)

    def reason_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        draft = self._editable(request, pk, author_only=True)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return self._page(request, draft, status=400, forms_={"reason_form": form})
        try:
            drafts.draft_reason_set(draft=draft, reason=form.cleaned_data["reason"])
        except drafts.DraftNotOpen as exc:
            return self._page(request, draft, error=str(exc), status=400)
        return self._back(draft)

    def lists_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        draft = self._editable(request, pk, author_only=True)
        form = BulkListForm(request.POST)
        if not form.is_valid():
            return self._page(request, draft, status=400, forms_={"lists_form": form})
        try:
            drafts.draft_list_add_propose(
                user=request.user, entries=form.cleaned_data["lines"], draft=draft
            )
        except ValidationError as exc:
            form.add_error("lines", "; ".join(exc.messages))
            return self._page(request, draft, status=400, forms_={"lists_form": form})
        except drafts.DraftNotOpen as exc:
            return self._page(request, draft, error=str(exc), status=400)
        return self._back(draft)

    def backtest_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        draft = get_object_or_404(PolicyDraft, pk=pk)
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = BacktestForm(request.POST)
        if not form.is_valid():
            return self._page(request, draft, status=400, forms_={"backtest_form": form})
        try:
            backtest_request(draft=draft, user=request.user, days=form.cleaned_data["days"])
        except drafts.DraftNotOpen as exc:
            return self._page(request, draft, error=str(exc), status=400)
        return self._back(draft)

    def rollback_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        draft = self._editable(request, pk)
        form = RollbackForm(request.POST)
        if not form.is_valid():
            return self._page(request, draft, status=400, forms_={"rollback_form": form})
        try:
            rollback = drafts.draft_rollback(
                to=draft, user=request.user, reason=form.cleaned_data["reason"]
            )
        except drafts.DraftError as exc:
            return self._page(request, draft, error=str(exc), status=400)
        return self._back(rollback)

    def backtest_status_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        backtest = get_object_or_404(PolicyBacktest, pk=pk)
        return JsonResponse(
            {"status": backtest.status, "progress": backtest.progress, "error": backtest.error}
        )
