"""How a case is opened: a challenged decision is routed to a queue, gets a priority and an
SLA, and its case is recorded as opened. ``scoring.decisions`` calls this inside the
transaction that stores the decision, so a decision and its case are stored together or not
at all."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.utils import timezone

from cases.models import Case, Queue
from cases.record import case_event_record
from scoring.models import Decision

DEFAULT_QUEUE = "General"


def case_priority(*, score: float | None, amount: float) -> int:
    """Higher first: the fraud probability dominates, the amount breaks ties (log scale)."""
    probability = 0.5 if score is None else score
    return round(1000 * probability + 100 * math.log10(1 + max(amount, 0.0)))


def default_queue_ensure(**kwargs: Any) -> Queue:
    """The fallback queue (last in routing order); created once, after migrate."""
    queue, _ = Queue.objects.get_or_create(name=DEFAULT_QUEUE, defaults={"position": 1000})
    return queue


def queue_route(decision: Decision) -> Queue:
    """The first queue (in routing order) whose conditions the decision meets, else the
    default queue."""
    txn = decision.transaction
    fired = {hit["rule"] for hit in decision.rules}
    for queue in Queue.objects.all():
        if queue.matches(rules=fired, channel=txn.channel, amount=txn.amount):
            return queue
    return default_queue_ensure()


def case_open_for_decision(*, decision: Decision) -> Case:
    """Open a case for a challenged decision; call it inside the decision's transaction."""
    queue = queue_route(decision)
    case = Case.objects.create(
        decision=decision,
        queue=queue,
        priority=case_priority(score=decision.score, amount=float(decision.transaction.amount)),
        sla_due_at=timezone.now() + timedelta(minutes=queue.sla_minutes),
    )
    case_event_record(case, None, "opened", from_status="", reason=f"decision {decision.outcome}")
    return case
