"""Project-level views: health check and home."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from cases.roles import can_see_kpis, can_work
from scoring import serving


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness, and what decisions are made with.

    503 when the database or the feature store does not answer (decisions cannot be made or
    stored). A model that is refused or missing, or no published cold-feature generation, is
    reported but answers 200: decisions continue, marked degraded, and taking the worker out
    of service would not make them better.
    """
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    checks["feature_store"] = serving.feature_store_health()
    healthy = all(v == "ok" for v in checks.values())
    model = serving.model_health() if checks["database"] == "ok" else None
    cold = serving.cold_features_health()
    # As decisions are marked: no model at all is not degraded (rules and lists decide).
    degraded = (model is not None and model["state"] == "degraded") or not cold["published"]
    body = {
        "status": "error" if not healthy else "degraded" if degraded else "ok",
        **checks,
        "model": model,
        "cold_features": cold,
    }
    return JsonResponse(body, status=200 if healthy else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """Where a login lands: the page of the user's role (a manager has no queue to work)."""
    if can_work(request.user):
        return redirect("cases:queue")
    if can_see_kpis(request.user):
        return redirect("kpis")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("home")


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for on pages that name no icon (the admin, the API
    docs): the static icon, so no page logs a 404."""
    return redirect(static("img/favicon.svg"), permanent=True)
