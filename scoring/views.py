"""Pages for people: the live decision feed."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from scoring.selectors import decisions_recent, outcome_counts_since


@staff_member_required
def decisions_live(request: HttpRequest) -> HttpResponse:
    return render(request, "scoring/decisions_live.html")


@staff_member_required
def decisions_live_rows(request: HttpRequest) -> HttpResponse:
    """The feed's rows; the page polls this (a firehose is cheaper polled than pushed)."""
    context = {
        "decisions": decisions_recent(limit=50),
        "counts": outcome_counts_since(since=timezone.now() - timedelta(minutes=1)),
    }
    return render(request, "scoring/_decision_rows.html", context)
