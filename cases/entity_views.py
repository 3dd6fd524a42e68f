"""Pages of entity profiles and a case's network: thin views over cases.entities and
cases.network, for the people who work cases (others: 403)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases import entities, network, selectors
from cases.models import Case
from cases.views import analyst_required


@require_GET
@analyst_required
def entity_page(request: HttpRequest, kind: str, value: str) -> HttpResponse:
    if kind not in entities.ENTITY_COLUMNS:
        raise Http404("No such kind of entity.")
    try:
        value = entities.entity_value_check(kind=kind, value=value)
    except entities.EntityValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    profile = entities.entity_profile(
        kind=kind,
        value=value,
        user=request.user,
        page=request.GET.get("page", 1),
        now=timezone.now(),
    )
    context = {
        "profile": profile,
        "title": entities.ENTITY_TITLES[kind],
        "display": entities.entity_display(kind, value),
    }
    return render(request, "cases/entity.html", context)


def _case(request: HttpRequest, case_id: int) -> Case:
    case = selectors.case_visible(user=request.user, case_id=case_id)
    if case is None:
        raise Http404("No such case in your queues.")
    return case


@require_GET
@analyst_required
def network_page(request: HttpRequest, case_id: int) -> HttpResponse:
    return render(request, "cases/network.html", {"case": _case(request, case_id)})


@require_GET
@analyst_required
def network_json(request: HttpRequest, case_id: int) -> JsonResponse:
    graph = network.case_network(case=_case(request, case_id), now=timezone.now())
    return JsonResponse(graph)
