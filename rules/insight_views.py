"""The per-rule performance page and the investigation console: thin views that parse, call
one selector (or the console's one service), render.

Who sees what follows the staff pages' roles (cases.roles): how the rules perform is for those
who see how the models compare (managers, leads, admins); the console is for those who work
cases (analysts, leads, admins), who find the patterns a rule should catch.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases.roles import can_compare_models, can_work
from rules import insight_charts
from rules.console import SCAN_CAP, ConsoleResult, console_query
from rules.console_drafts import rule_draft_from_console
from rules.engine import InvalidRule
from rules.insight_forms import ConsoleDraftForm, ConsoleForm, PerformanceForm
from rules.performance import RulesReport, rules_performance, rules_sorted

# The trend chart draws the rules with the most hits (the table lists them all).
TREND_RULES = 12


def can_review_rules(user: Any) -> bool:
    return can_compare_models(user)


def can_investigate(user: Any) -> bool:
    return can_work(user)


def _today() -> date:
    return timezone.now().astimezone(UTC).date()


@require_GET
@login_required
def rule_performance_page(request: HttpRequest) -> HttpResponse:
    if not can_review_rules(request.user):
        raise PermissionDenied("You need the manager, lead or admin role.")
    form = PerformanceForm(request.GET, today=_today())
    if not form.is_valid():
        return render(request, "rules/performance.html", {"form": form}, status=400)
    since, until = form.bounds()
    report = rules_performance(since=since, until=until, moment=timezone.now())
    sort = form.cleaned_data["sort"] or "hits"
    descending = (form.cleaned_data["order"] or ("asc" if sort == "name" else "desc")) == "desc"
    bar = settings.RULE_PRECISION_BAR
    context = {
        "form": form,
        "report": report,
        "rows": rules_sorted(report.rows, key=sort, descending=descending),
        "bar": bar,
        "below": {row.key for row in report.rows if row.below(bar)},
        "sort": sort,
        "descending": descending,
        "columns": _columns(form, sort, descending),
        "charts": [{"id": "rules-figure-1", "figure": _trend(report)}],
    }
    return render(request, "rules/performance.html", context)


# The table's columns: the sort key and heading of each.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "rule"), ("mode", "mode"), ("action", "action"), ("hits", "hits"),
    ("hit_rate", "hit rate"), ("labelled", "labelled"), ("precision", "precision"),
    ("fraud_amount", "fraud amount caught"), ("legit_challenged", "legit challenged"),
    ("unique", "unique hits"), ("overlap", "overlapping"),
)  # fmt: skip


def _columns(form: PerformanceForm, sort: str, descending: bool) -> list[dict[str, Any]]:
    """Each heading with the link that sorts by it (descending first; again: ascending)."""
    period = {"since": form.cleaned_data["since"], "until": form.cleaned_data["until"]}
    columns = []
    for key, heading in COLUMNS:
        order = "asc" if key == sort and descending else "desc"
        columns.append(
            {
                "key": key,
                "heading": heading,
                "href": "?" + urlencode({**period, "sort": key, "order": order}),
                "arrow": ("▼" if descending else "▲") if key == sort else "",
            }
        )
    return columns


def _trend(report: RulesReport) -> str:
    top = [row for row in report.rows if row.hits][:TREND_RULES]
    return insight_charts.hits_trend(
        report.days, {row.key: report.daily(row) for row in top}, report.decisions_daily
    )


@require_GET
@login_required
def rule_console_page(request: HttpRequest) -> HttpResponse:
    if not can_investigate(request.user):
        raise PermissionDenied("You need the analyst or admin role.")
    return _console(request, ConsoleForm(request.GET, today=_today()))


def _console(
    request: HttpRequest,
    form: ConsoleForm,
    *,
    draft_form: ConsoleDraftForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The console with ``form``'s query run, if it has one; a bad query is a form error."""
    result: ConsoleResult | None = None
    if form.is_valid() and form.cleaned_data["expression"].strip():
        since, until = form.bounds()
        try:
            result = console_query(
                expression=form.cleaned_data["expression"], since=since, until=until,
                moment=timezone.now(),
            )  # fmt: skip
        except InvalidRule as exc:
            form.add_error("expression", str(exc))
    context: dict[str, Any] = {"form": form, "result": result, "cap": SCAN_CAP}
    if result is not None:
        context["charts"] = [
            {
                "id": "console-figure-1",
                "figure": insight_charts.matches_over_time(
                    result.days,
                    result.series(result.matched_daily),
                    result.series(result.scanned_daily),
                ),
            }
        ]
        context["draft_form"] = ConsoleDraftForm(
            initial={
                "expression": result.expression,
                "since": form.cleaned_data["since"],
                "until": form.cleaned_data["until"],
            }
        )
    if draft_form is not None:
        context["draft_form"] = draft_form
    return render(request, "rules/console.html", context, status=status)


@require_POST
@login_required
def rule_console_draft(request: HttpRequest) -> HttpResponse:
    """Save the console's expression as a rule that does not act (rules.console_drafts)."""
    if not can_investigate(request.user):
        raise PermissionDenied("You need the analyst or admin role.")
    draft = ConsoleDraftForm(request.POST)
    if draft.is_valid():
        try:
            proposed = rule_draft_from_console(
                expression=draft.cleaned_data["expression"], name=draft.cleaned_data["name"],
                action=draft.cleaned_data["action"], author=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                for error in errors:
                    draft.add_error(field_name if field_name in draft.fields else None, error)
        else:
            messages.success(
                request,
                f"Rule {draft.cleaned_data['name']} proposed in {proposed}: it decides nothing "
                "until someone else backtests and publishes the draft.",
            )
            return redirect(_console_url(draft))
    query = {key: request.POST.get(key, "") for key in ("expression", "since", "until")}
    return _console(request, ConsoleForm(query, today=_today()), draft_form=draft, status=400)


def _console_url(draft: ConsoleDraftForm) -> str:
    query = {
        "expression": draft.cleaned_data["expression"],
        "since": draft.cleaned_data["since"] or "",
        "until": draft.cleaned_data["until"] or "",
    }
    return f"{reverse('rule-console')}?{urlencode(query)}"
