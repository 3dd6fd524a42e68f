"""Pages of the workbench: thin views that parse, call one service or selector, render.

Everyone here must be logged in and hold a role: without one, every page answers 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases import charts, kpis, queue_reads, selectors, services
from cases.charts import shap_bar_json, shap_waterfall_json
from cases.forms import (
    BulkVerdictForm,
    CommentForm,
    QueueFilterForm,
    ReasonForm,
    ReassignForm,
    VerdictForm,
)
from cases.models import Case, CaseStatus, Verdict
from cases.roles import can_lead, can_see_kpis, can_work
from cases.spreadsheet import queue_export_lines
from rules.policy import Outcome

View = Callable[..., HttpResponseBase]


def analyst_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_work(request.user):
            raise PermissionDenied("You need the analyst role.")
        return view(request, *args, **kwargs)

    return wrapped


def lead_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not can_lead(request.user):
            raise PermissionDenied("You need the lead role.")
        return view(request, *args, **kwargs)

    return wrapped


def _case(request: HttpRequest, case_id: int) -> Case:
    case = selectors.case_visible(user=request.user, case_id=case_id)
    if case is None:
        raise Http404("No such case in your queues.")
    return case


def _queue_filters_form(request: HttpRequest) -> QueueFilterForm:
    return QueueFilterForm(
        request.GET,
        queues=selectors.queues_of(request.user),
        rules=queue_reads.rule_names(),
    )


def _queue(
    request: HttpRequest, *, bulk_form: BulkVerdictForm | None = None, status: int = 200
) -> HttpResponse:
    """The queue page for the filters in the query string (bad ones: their errors, 400)."""
    form = _queue_filters_form(request)
    page = None
    if form.is_valid():
        page = queue_reads.queue_page_read(
            user=request.user, filters=form.filters(), now=timezone.now()
        )
    else:
        status = 400
    query = request.GET.copy()
    query.pop("page", None)
    current = (form.cleaned_data.get("sort") or queue_reads.DEFAULT_SORT) if page else ""
    # A refused bulk verdict keeps its cases ticked.
    chosen = set(getattr(bulk_form, "cleaned_data", {}).get("cases") or [])
    context = {
        "form": form,
        "page": page,
        "rows": page.rows if page else [],
        "query": query.urlencode(),
        "sorts": _sort_links(query, current),
        "is_lead": can_lead(request.user),
        "queues": selectors.queues_all(),
        "bulk_form": bulk_form or BulkVerdictForm(),
        "chosen": chosen,
    }
    return render(request, "cases/queue.html", context, status=status)


# A column's header sorts by it: first this way, clicked again the other way.
SORT_COLUMNS = {
    "age": ("oldest", "newest"),
    "amount": ("amount-desc", "amount-asc"),
    "score": ("score-desc", "score-asc"),
    "sla": ("sla", "sla"),
    "case": ("priority", "priority"),
}


def _sort_links(query: Any, current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the URL its header links to and, when it is the current order,
    ``aria-sort``."""
    links = {}
    for column, (first, second) in SORT_COLUMNS.items():
        ordered = query.copy()
        ordered["sort"] = second if current == first else first
        state = ""
        if current in (first, second):
            state = (
                "ascending"
                if current in ("oldest", "amount-asc", "score-asc", "sla")
                else "descending"
            )
        links[column] = {"url": f"?{ordered.urlencode()}", "state": state}
    return links


@require_GET
@analyst_required
def queue_page(request: HttpRequest) -> HttpResponse:
    return _queue(request)


@require_GET
@analyst_required
def case_row(request: HttpRequest, case_id: int) -> HttpResponse:
    """One row of the queue, for the live update; 204 when it has left the queue or does not
    pass the page's filters (sent along in the query string)."""
    form = _queue_filters_form(request)
    filters = form.filters() if form.is_valid() else queue_reads.QueueFilters()
    row = queue_reads.queue_row_read(
        user=request.user, case_id=case_id, filters=filters, now=timezone.now()
    )
    if row is None:
        return HttpResponse(status=204)
    context = {"row": row, "is_lead": can_lead(request.user), "chosen": set()}
    return render(request, "cases/_case_row.html", context)


@require_POST
@analyst_required
def case_next(request: HttpRequest) -> HttpResponse:
    return _claim_next(request)


def _claim_next(request: HttpRequest) -> HttpResponse:
    case = services.case_claim_next(user=request.user)
    if case is None:
        messages.info(request, "No open cases in your queues.")
        return redirect("cases:queue")
    return redirect("cases:detail", case_id=case.pk)


@require_POST
@analyst_required
def case_claim(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    try:
        services.case_claim(case=case, user=request.user)
    except services.CaseError as exc:
        messages.error(request, str(exc))
        return redirect("cases:queue")
    return redirect("cases:detail", case_id=case.pk)


@require_POST
@analyst_required
def case_renew(request: HttpRequest, case_id: int) -> HttpResponse:
    """The case page of the analyst holding the case keeps its lease alive."""
    case = _case(request, case_id)
    try:
        services.case_lease_renew(case=case, user=request.user)
    except services.CaseError as exc:
        return HttpResponse(str(exc), status=409)
    return HttpResponse(status=204)


@require_GET
@analyst_required
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _detail(request, _case(request, case_id))


def _detail(request: HttpRequest, case: Case, *, status: int = 200, **forms: Any) -> HttpResponse:
    evidence = selectors.case_evidence(case=case, user=request.user)
    walk = evidence.walk.walk if evidence.walk else None
    is_lead, mine = can_lead(request.user), case.assignee_id == request.user.pk
    open_to_decide = case.status != CaseStatus.DECIDED
    txn = case.decision.transaction
    context = {
        "ev": evidence,
        "case": case,
        "walk": walk,
        "score_text": "" if case.decision.score is None else charts.percent(case.decision.score),
        "chart": shap_waterfall_json(walk) if walk else shap_bar_json(evidence.contributions),
        "is_lead": is_lead,
        "mine": mine,
        # The verdict panel is for whoever may decide: the holder, or a lead.
        "can_decide": open_to_decide and (is_lead or (mine and case.status == CaseStatus.CLAIMED)),
        "held_by_other": open_to_decide and case.assignee_id is not None and not mine,
        "verdict_form": forms.get("verdict_form") or VerdictForm(transaction=txn),
        "reassign_form": forms.get("reassign_form") or ReassignForm(),
        "escalate_form": forms.get("escalate_form") or ReasonForm(),
        "comment_form": forms.get("comment_form") or CommentForm(),
    }
    return render(request, "cases/case.html", context, status=status)


def _act(
    request: HttpRequest, case: Case, form_name: str, form: Any, action: Callable[[], object]
) -> HttpResponse:
    """Run a service for a valid form; re-render the case with errors (400) otherwise."""
    if form.is_valid():
        try:
            action()
        except ValidationError as exc:
            for field_name, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field_name if field_name in form.fields else None, error)
        except services.CaseError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("cases:detail", case_id=case.pk)
    return _detail(request, case, status=400, **{form_name: form})


@require_POST
@analyst_required
def case_verdict(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = VerdictForm(request.POST, transaction=case.decision.transaction)

    def act() -> object:
        given = services.case_verdict(
            case=case,
            user=request.user,
            verdict=form.cleaned_data["verdict"],
            note=form.cleaned_data["note"],
            block=form.cleaned_data["block"],
        )
        messages.success(request, f"Case {case.pk}: {given.case.verdict}.")
        return given

    response = _act(request, case, "verdict_form", form, act)
    if response.status_code != 302:
        return response
    if "next" not in request.POST:
        return redirect("cases:queue")
    # "Decide and next": straight on to the next case of the analyst's queues.
    return _claim_next(request)


@require_POST
@lead_required
def case_reassign(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = ReassignForm(request.POST)
    return _act(
        request, case, "reassign_form", form,
        lambda: services.case_reassign(
            case=case, lead=request.user, to_user=form.cleaned_data["to_user"],
            reason=form.cleaned_data["reason"],
        ),
    )  # fmt: skip


@require_POST
@analyst_required
def case_escalate(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = ReasonForm(request.POST)
    return _act(
        request, case, "escalate_form", form,
        lambda: services.case_escalate(
            case=case, user=request.user, reason=form.cleaned_data["reason"]
        ),
    )  # fmt: skip


@require_POST
@analyst_required
def case_comment(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    form = CommentForm(request.POST)
    return _act(
        request, case, "comment_form", form,
        lambda: services.case_comment(case=case, user=request.user, text=form.cleaned_data["text"]),
    )  # fmt: skip


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    query = request.GET.urlencode()
    return redirect(reverse("cases:queue") + (f"?{query}" if query else ""))


@require_POST
@lead_required
def cases_bulk_verdict(request: HttpRequest) -> HttpResponse:
    """A verdict on the chosen cases, in two steps: the form shows what would be decided and
    asks to confirm; only the confirmed form decides. The query string is the queue page's
    filters, kept for going back."""
    form = BulkVerdictForm(request.POST)
    if not form.is_valid():
        return _queue(request, bulk_form=form, status=400)
    chosen = selectors.cases_active_among(user=request.user, case_ids=form.cleaned_data["cases"])
    if not chosen:
        form.add_error("cases", "None of the chosen cases is still waiting for a verdict.")
        return _queue(request, bulk_form=form, status=400)
    if not form.cleaned_data["confirmed"]:
        context = {"form": form, "chosen": chosen, "query": request.GET.urlencode()}
        return render(request, "cases/bulk_confirm.html", context)
    try:
        given = services.cases_bulk_verdict(
            cases=chosen,
            lead=request.user,
            verdict=form.cleaned_data["verdict"],
            note=form.cleaned_data["note"],
        )
    except (services.CaseError, ValidationError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{len(given)} cases decided: {form.cleaned_data['verdict']}.")
    return _back_to_queue(request)


@require_GET
@lead_required
def queue_export(request: HttpRequest, queue_id: int) -> StreamingHttpResponse:
    queue = selectors.queue_find(queue_id=queue_id)
    if queue is None:
        raise Http404("No such queue.")
    cases = selectors.cases_active(user=request.user, queue=queue).iterator()
    response = StreamingHttpResponse(queue_export_lines(cases), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="queue-{queue.pk}.csv"'
    return response


@require_GET
@lead_required
def cases_export_filtered(request: HttpRequest) -> HttpResponseBase:
    """The cases the queue page shows for its filters (every page of them), as CSV."""
    form = _queue_filters_form(request)
    if not form.is_valid():
        return _queue(request)
    cases = queue_reads.queue_cases_filtered(user=request.user, filters=form.filters())
    response = StreamingHttpResponse(queue_export_lines(cases.iterator()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="cases.csv"'
    return response


# --- KPIs --------------------------------------------------------------------------------

OUTCOME_COLORS: dict[str, str] = {
    Outcome.APPROVE: "#067647", Outcome.REVIEW: "#b54708", Outcome.DECLINE: "#b42318",
}  # fmt: skip
FRAUD_COLORS = {"caught": "#067647", "missed": "#b42318"}
VERDICT_COLORS: dict[str, str] = {
    Verdict.FRAUD: "#b42318", Verdict.LEGIT: "#067647", Verdict.INCONCLUSIVE: "#667085",
}  # fmt: skip


@require_GET
@login_required
def kpi_dashboard(request: HttpRequest) -> HttpResponse:
    if not can_see_kpis(request.user):
        raise PermissionDenied("You need the manager role.")
    try:
        days = int(request.GET.get("days", "14"))
    except ValueError:
        days = 0
    if not 1 <= days <= 365:
        return HttpResponse("days: a whole number of days from 1 to 365.", status=400)
    board = kpis.dashboard(days=days)
    context = {
        "days": days,
        "since": board.since,
        **asdict(board.totals),
        "backlog": board.backlog,
        "drift": board.drift,
        "charts": [
            {"id": f"kpi-figure-{i}", "figure": figure}
            for i, figure in enumerate(_kpi_figures(board), start=1)
        ],
    }
    return render(request, "cases/kpis.html", context)


def _kpi_figures(board: kpis.Dashboard) -> list[str]:
    decisions, fraud = board.decisions, board.fraud
    return [
            charts.stacked_bars(
                decisions.days, {o: decisions.series[o] for o in kpis.OUTCOMES},
                title="Decisions per day", colors=OUTCOME_COLORS,
            ),
            charts.stacked_bars(
                fraud.days, {"caught": fraud.series["caught"], "missed": fraud.series["missed"]},
                title="Fraud (labelled so far) per day: caught or missed", colors=FRAUD_COLORS,
            ),
            charts.line(
                decisions.days, decisions.series["latency"],
                title="Mean decision latency (ms)", name="latency",
            ),
            charts.grouped_bars(
                board.verdicts,
                title="Verdicts per analyst", colors=VERDICT_COLORS,
            ),
    ]  # fmt: skip
