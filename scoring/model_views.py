"""The buttons that change which model decides: plain POST endpoints (the model's admin page
posts to them). Each parses a reason (and a share), calls one ``scoring.lifecycle`` service
and goes back to the model's page with a message.

Only people with ``scoring.manage_models`` (leads and admins) may: anyone else gets 403,
nothing changes and the refusal is logged (a warning naming the account and the change). A
form without a reason, or a share outside 0..1, is a 400 naming the field; a change the
lifecycle refuses (say, rolling back with no earlier champion) is a 409 saying why. Neither
writes anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from scoring import lifecycle
from scoring.models import ModelVersion

MANAGE_MODELS = "scoring.manage_models"

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponseBase]


def models_manager_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(MANAGE_MODELS):
            logger.warning(
                "model change refused: %s (no %s) tried %s %s",
                request.user.get_username(), MANAGE_MODELS, request.method, request.path,
            )  # fmt: skip
            raise PermissionDenied("Changing which model decides needs the lead or admin role.")
        return view(request, *args, **kwargs)

    return wrapped


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True, help_text="Why (kept in the audit log).")


class CanaryForm(ReasonForm):
    share = forms.FloatField(
        min_value=0.0, max_value=1.0, help_text="Share of live traffic it decides, 0 to 1."
    )


Change = Callable[[dict[str, Any]], ModelVersion | int]


def _change(
    request: HttpRequest,
    form: forms.Form,
    change: Change,
    *,
    back: str,
    done: Callable[[Any], str],
) -> HttpResponse:
    """Validate ``form``, make the change, and go ``back`` saying what was ``done`` (a
    message made from what the change returned)."""
    if not form.is_valid():
        return _refused(request, back, form.errors.get_json_data(), status=400)
    try:
        result = change({"actor": request.user, **form.cleaned_data})
    except lifecycle.LifecycleError as exc:
        return _refused(request, back, {"__all__": [{"message": str(exc)}]}, status=409)
    messages.success(request, done(result))
    return redirect(back, permanent=False)


def _refused(
    request: HttpRequest, back: str, errors: dict[str, Any], *, status: int
) -> HttpResponse:
    problems = [
        (None if field == "__all__" else field, error["message"])
        for field, field_errors in errors.items()
        for error in field_errors
    ]
    context = {"problems": problems, "back": back}
    return render(request, "scoring/model_change_refused.html", context, status=status)


def _page_of(version: ModelVersion) -> str:
    return reverse("admin:scoring_modelversion_change", args=[version.pk])


def _list_page() -> str:
    return reverse("admin:scoring_modelversion_changelist")


@dataclass(frozen=True)
class VersionAction:
    """A button on one version's page: its form, its lifecycle service and what it says."""

    form: type[ReasonForm]
    service: Callable[..., ModelVersion]
    done: str  # formatted with the version's name


VERSION_ACTIONS = {
    "promote": VersionAction(
        ReasonForm,
        lifecycle.model_promote,
        "Model {name} is the champion: workers switch to it within seconds.",
    ),
    "shadow": VersionAction(ReasonForm, lifecycle.model_shadow_start, "Model {name} is in shadow."),
    "reject": VersionAction(ReasonForm, lifecycle.model_reject, "Model {name} is rejected."),
    "canary": VersionAction(
        CanaryForm,
        lifecycle.model_canary_set,
        "Model {name}'s canary share is set: workers follow within seconds.",
    ),
}


@require_POST
@models_manager_required
def model_version_change(request: HttpRequest, version_id: int, action: str) -> HttpResponse:
    """One of VERSION_ACTIONS on one version (the URL names the action)."""
    version = get_object_or_404(ModelVersion, pk=version_id)
    chosen = VERSION_ACTIONS[action]
    return _change(
        request,
        chosen.form(request.POST),
        lambda data: chosen.service(version=version, **data),
        back=_page_of(version),
        done=lambda _: chosen.done.format(name=version.name),
    )


@require_POST
@models_manager_required
def models_rollback(request: HttpRequest) -> HttpResponse:
    return _change(
        request,
        ReasonForm(request.POST),
        lambda data: lifecycle.model_rollback(**data),
        back=_list_page(),
        done=lambda restored: (
            f"Rolled back: {restored} is the champion again (workers switch within seconds)."
        ),
    )


@require_POST
@models_manager_required
def models_kill_switch(request: HttpRequest) -> HttpResponse:
    return _change(
        request,
        ReasonForm(request.POST),
        lambda data: lifecycle.model_kill_switch(**data),
        back=_list_page(),
        done=_kill_switch_done,
    )


def _kill_switch_done(stopped: int) -> str:
    if not stopped:
        return "Kill switch: no canary was deciding; all traffic already goes to the champion."
    shares = "canary share" if stopped == 1 else f"{stopped} canary shares"
    return f"Kill switch: {shares} set to 0, all traffic goes to the champion within seconds."
