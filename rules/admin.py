"""Admin for the policy. Saves go through ``rules.services`` (versioning, revision bump)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from rules import selectors, services
from rules.models import (
    ListEntry,
    PolicyRevision,
    Rule,
    RuleAction,
    RuleMode,
    RuleVersion,
    ScoreThresholds,
)
from rules.policy import InvertedThresholds, Thresholds
from scoring.backtest import Candidate, rule_backtest
from scoring.features.catalogue import GROUP_ORDER, feature_info
from scoring.transaction import RULE_FACTS


def _expression_clean(expression: str) -> str:
    """The expression, or the form field's error when it does not compile (the service says)."""
    try:
        services.rule_expression_validate(expression)
    except ValidationError as exc:
        raise ValidationError(exc.message_dict["expression"]) from exc
    return expression


# Keeps an expression error's lines, so a syntax error's caret stands under its column.
_EXPRESSION_CSS = {"all": ["css/rule_expression.css"]}


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


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin[Rule]):
    form = RuleForm
    list_display = ["name", "action", "expression", "mode_shown", "version", "updated_at", "test"]
    list_filter = ["action", "mode"]
    search_fields = ["name", "expression", "description"]
    inlines = [RuleVersionInline]

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        services.rule_save(rule=obj, user=request.user)

    @admin.display(description="mode", ordering="mode")
    def mode_shown(self, obj: Rule) -> str:
        return f"rollout {obj.rollout_percent}%" if obj.mode == RuleMode.ROLLOUT else obj.mode

    @admin.display(description="")
    def test(self, obj: Rule) -> str:
        url = reverse("admin:rules_rule_backtest")
        return format_html('<a href="{}?rule={}">Test on history</a>', url, obj.pk)

    def get_urls(self) -> list[URLPattern]:
        backtest = path(
            "backtest/",
            self.admin_site.admin_view(rule_backtest_view),
            name="rules_rule_backtest",
        )
        return [backtest, *super().get_urls()]

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        services.rule_delete(rule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Rule]) -> None:
        for rule in queryset:
            services.rule_delete(rule=rule)


@admin.register(ListEntry)
class ListEntryAdmin(admin.ModelAdmin[ListEntry]):
    list_display = ["list_type", "entity", "value", "reason", "expires_at", "created_by"]
    list_filter = ["list_type", "entity"]
    search_fields = ["value", "reason"]
    fields = ["list_type", "entity", "value", "reason", "expires_at"]

    def save_model(self, request: HttpRequest, obj: ListEntry, form: Any, change: bool) -> None:
        services.list_entry_save(entry=obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: ListEntry) -> None:
        services.list_entry_delete(entry=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ListEntry]) -> None:
        for entry in queryset:
            services.list_entry_delete(entry=entry)


@admin.register(ScoreThresholds)
class ScoreThresholdsAdmin(admin.ModelAdmin[ScoreThresholds]):
    list_display = ["review_at", "decline_at", "updated_at", "test"]

    @admin.display(description="")
    def test(self, obj: ScoreThresholds) -> str:
        url = reverse("admin:rules_rule_backtest")
        return format_html('<a href="{}?thresholds=1">Test other thresholds on history</a>', url)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return selectors.thresholds_stored().pk is None  # one row: add it once

    def save_model(
        self, request: HttpRequest, obj: ScoreThresholds, form: Any, change: bool
    ) -> None:
        services.thresholds_set(review_at=obj.review_at, decline_at=obj.decline_at)


@admin.register(PolicyRevision)
class PolicyRevisionAdmin(admin.ModelAdmin[PolicyRevision]):
    list_display = ["revision", "changed_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class BacktestForm(forms.Form):
    class Media:
        css = _EXPRESSION_CSS

    name = forms.SlugField(max_length=64, initial="candidate")
    expression = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Empty: try only the thresholds below.",
    )
    action = forms.ChoiceField(choices=RuleAction.choices)
    review_at = forms.FloatField(
        required=False, min_value=0, max_value=1, help_text="Empty: the threshold in force."
    )
    decline_at = forms.FloatField(required=False, min_value=0, max_value=1)
    days = forms.IntegerField(min_value=1, max_value=365, initial=7)
    replaces = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_expression(self) -> str:
        expression: str = self.cleaned_data["expression"].strip()
        return _expression_clean(expression) if expression else expression

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        review, decline = data.get("review_at"), data.get("decline_at")
        if (review is None) != (decline is None):
            raise ValidationError("Give both thresholds, or neither.")
        if review is not None and decline is not None:
            try:
                Thresholds.check(review, decline)
            except InvertedThresholds as exc:
                self.add_error("review_at", str(exc))
        if not data.get("expression") and review is None and not self.errors:
            raise ValidationError("Give a rule expression, thresholds, or both.")
        return data

    def candidate(self) -> Candidate:
        data = self.cleaned_data
        thresholds = None
        if data["review_at"] is not None:
            thresholds = Thresholds(review=data["review_at"], decline=data["decline_at"])
        return Candidate(
            name=data["name"], expression=data["expression"], action=data["action"],
            replaces=data["replaces"] or None, thresholds=thresholds,
        )  # fmt: skip


def rule_backtest_view(request: HttpRequest) -> HttpResponse:
    """Test a rule on history: the admin's "what would this have done?" page."""
    result = None
    status = 200
    if "expression" in request.GET:
        form = BacktestForm(request.GET)
        if form.is_valid():
            result = rule_backtest(candidate=form.candidate(), days=form.cleaned_data["days"])
        else:
            status = 400
    else:
        rule = selectors.rule_find(rule_id=request.GET.get("rule") or 0)
        initial: dict[str, Any] = {} if rule is None else {
            "name": rule.name, "expression": rule.expression, "action": rule.action,
            "replaces": rule.name,
        }  # fmt: skip
        if request.GET.get("thresholds"):
            stored = selectors.thresholds_stored()
            initial.update(review_at=stored.review_at, decline_at=stored.decline_at)
        form = BacktestForm(initial=initial)
    context = {
        **admin.site.each_context(request),
        "title": "Test a rule or thresholds on history",
        "form": form,
        "result": result,
        "changes": sorted(result.changes.items()) if result else [],
        "before": sorted(result.before.items()) if result else [],
        "after": sorted(result.after.items()) if result else [],
    }
    return TemplateResponse(request, "admin/rules/rule/backtest.html", context, status=status)
