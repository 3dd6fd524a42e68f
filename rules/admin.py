"""Admin for the policy. An edit of a rule, a list entry or the thresholds goes into the
editor's open draft (``rules.drafts``); it is in force once someone else publishes it from
the draft's page (``rules.draft_admin``)."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from rules import drafts, selectors, services
from rules.draft_admin import PolicyDraftAdmin
from rules.models import (
    ListEntry,
    PolicyDraft,
    PolicyRevision,
    Rule,
    RuleMode,
    RuleVersion,
    ScoreThresholds,
)
from scoring.features.catalogue import GROUP_ORDER, feature_info
from scoring.transaction import RULE_FACTS

__all__ = ["PolicyDraftAdmin"]

M = TypeVar("M", bound=Model)


def _expression_clean(expression: str) -> str:
    """The expression, or the form field's error when it does not compile (the service says)."""
    try:
        services.rule_expression_validate(expression)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["expression"]) from exc
    return expression


# Keeps an expression error's lines, so a syntax error's caret stands under its column.
_EXPRESSION_CSS = {"all": ["css/rule_expression.css"]}
# Puts the cursor in the first field in error, so the error is where the user looks.
FORM_ERROR_FOCUS_JS = "js/form_error_focus.js"


def rule_facts_help() -> SafeString:
    """The names an expression may use, by group, with their labels and units (from the
    feature catalogue): the rule editor's list of facts."""
    groups = []
    for group in GROUP_ORDER:
        infos = [
            info for name in RULE_FACTS if (info := feature_info(name)) and info.group == group
        ]
        items = format_html_join(
            "", "<li><code>{}</code> {} ({})</li>", ((i.name, i.label, i.unit) for i in infos)
        )
        groups.append(format_html("<li>{}<ul>{}</ul></li>", group, items))
    return format_html(
        "e.g. card_txn_count_1m &gt;= 5 and amount &gt; 500"
        '<details id="rule-facts"><summary>The facts a rule may name</summary><ul>{}</ul>'
        "</details>",
        SafeString("".join(groups)),
    )


class RuleForm(forms.ModelForm[Rule]):
    class Media:
        css = _EXPRESSION_CSS
        js = [FORM_ERROR_FOCUS_JS]

    class Meta:
        model = Rule
        fields = ["name", "description", "expression", "action", "mode", "rollout_percent"]
        widgets = {"expression": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expression"].help_text = rule_facts_help()

    def clean_expression(self) -> str:
        return _expression_clean(self.cleaned_data["expression"])


class RuleVersionInline(admin.TabularInline[RuleVersion, Rule]):
    model = RuleVersion
    fields = readonly_fields = (
        "version",
        "action",
        "expression",
        "mode",
        "rollout_percent",
        "created_by",
        "created_at",
    )
    extra = 0
    can_delete = False
    ordering = ["-version"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a published version never changes


class DraftingAdmin(admin.ModelAdmin[M]):
    """A save or delete proposes the change in the editor's draft instead of making it, and
    leads there. Nothing is written to the model's table, so nothing is logged for it here:
    the publish is what the audit log records."""

    def _to_draft(self, request: HttpRequest, draft: PolicyDraft) -> HttpResponse:
        messages.info(
            request,
            f"Saved in {draft}. It goes live when someone else publishes it, after a backtest.",
        )
        return HttpResponseRedirect(reverse("admin:rules_policydraft_change", args=[draft.pk]))

    def _propose(self, request: HttpRequest, obj: M) -> PolicyDraft:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: M, form: Any, change: bool) -> None:
        request._policy_draft = self._propose(request, obj)  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        pass

    def construct_change_message(self, *args: Any, **kwargs: Any) -> Any:
        return []  # the formsets were not saved: there is no change to describe

    def log_addition(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def log_change(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def log_deletion(self, *args: Any, **kwargs: Any) -> Any:
        return None

    def response_add(self, request: HttpRequest, obj: M, post_url_continue: Any = None) -> Any:
        return self._to_draft(request, request._policy_draft)  # type: ignore[attr-defined]

    def response_change(self, request: HttpRequest, obj: M) -> Any:
        return self._to_draft(request, request._policy_draft)  # type: ignore[attr-defined]

    def response_delete(self, request: HttpRequest, obj_display: str, obj_id: Any) -> Any:
        return self._to_draft(request, request._policy_draft)  # type: ignore[attr-defined]

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(Rule)
class RuleAdmin(DraftingAdmin[Rule]):
    form = RuleForm
    list_display = ["name", "action", "expression", "mode_shown", "version", "updated_at"]
    list_filter = ["action", "mode"]
    search_fields = ["name", "expression", "description"]
    inlines = [RuleVersionInline]
    actions = ["propose_removal"]

    def _propose(self, request: HttpRequest, obj: Rule) -> PolicyDraft:
        return drafts.draft_rule_propose(
            user=request.user, name=obj.name, expression=obj.expression, action=obj.action,
            description=obj.description, mode=obj.mode, rollout_percent=obj.rollout_percent,
        )  # fmt: skip

    @admin.display(description="mode", ordering="mode")
    def mode_shown(self, obj: Rule) -> str:
        return f"rollout {obj.rollout_percent}%" if obj.mode == RuleMode.ROLLOUT else obj.mode

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        draft = drafts.draft_rule_remove_propose(user=request.user, name=obj.name)
        request._policy_draft = draft  # type: ignore[attr-defined]

    @admin.action(description="Propose removing the selected rules (in a draft)")
    def propose_removal(self, request: HttpRequest, queryset: QuerySet[Rule]) -> HttpResponse:
        draft = None
        for rule in queryset:
            draft = drafts.draft_rule_remove_propose(user=request.user, name=rule.name)
        return self._to_draft(request, draft or drafts.draft_open(user=request.user))


@admin.register(ListEntry)
class ListEntryAdmin(DraftingAdmin[ListEntry]):
    list_display = ["list_type", "entity", "value", "reason", "expires_at", "created_by"]
    list_filter = ["list_type", "entity"]
    search_fields = ["value", "reason"]
    fields = ["list_type", "entity", "value", "reason", "expires_at"]
    actions = ["propose_removal"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # remove an entry and add another (both in a draft)

    def _propose(self, request: HttpRequest, obj: ListEntry) -> PolicyDraft:
        entry = (obj.list_type, obj.entity, obj.value, obj.reason, obj.expires_at)
        return drafts.draft_list_add_propose(user=request.user, entries=[entry])

    def delete_model(self, request: HttpRequest, obj: ListEntry) -> None:
        draft = drafts.draft_list_remove_propose(user=request.user, entries=[obj])
        request._policy_draft = draft  # type: ignore[attr-defined]

    @admin.action(description="Propose removing the selected entries (in a draft)")
    def propose_removal(self, request: HttpRequest, queryset: QuerySet[ListEntry]) -> HttpResponse:
        draft = drafts.draft_list_remove_propose(user=request.user, entries=list(queryset))
        return self._to_draft(request, draft)


@admin.register(ScoreThresholds)
class ScoreThresholdsAdmin(DraftingAdmin[ScoreThresholds]):
    list_display = ["review_at", "decline_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return selectors.thresholds_stored().pk is None  # one row: add it once

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def _propose(self, request: HttpRequest, obj: ScoreThresholds) -> PolicyDraft:
        return drafts.draft_thresholds_propose(
            user=request.user, review_at=obj.review_at, decline_at=obj.decline_at
        )


@admin.register(PolicyRevision)
class PolicyRevisionAdmin(admin.ModelAdmin[PolicyRevision]):
    list_display = ["revision", "changed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
