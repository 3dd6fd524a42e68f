"""Reads of the case workbench: queues, active cases and a case's evidence, loaded once
(the queue page's own reads are in ``cases.queue_reads``)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from cases.feature_view import FeatureView, feature_view
from cases.models import ACTIVE, Case, CaseComment, CaseEvent, CaseStatus, Queue
from cases.score_walk import ScoreWalk, decision_score_walk
from rules.policy import ListEntity
from scoring.features.definitions import FEATURE_NAMES
from scoring.models import Decision, Label, LabelEvent, Transaction
from scoring.transaction import LIST_VALUES

HISTORY_LIMIT = 50


def queues_of(user: Any) -> QuerySet[Queue]:
    """The queues a user works: those listing them, and those listing nobody."""
    return Queue.objects.filter(Q(analysts=user) | Q(analysts__isnull=True)).distinct()


def queue_ids_of(user: Any) -> list[int]:
    """The ids of the queues a user works (a WebSocket joins their groups)."""
    return list(queues_of(user).values_list("pk", flat=True))


def queues_all() -> QuerySet[Queue]:
    """Every queue, in routing order."""
    return Queue.objects.all()


def queue_find(*, queue_id: int) -> Queue | None:
    return Queue.objects.filter(pk=queue_id).first()


def cases_active(*, user: Any, queue: Queue | None = None) -> QuerySet[Case]:
    """Open, claimed and escalated cases of the user's queues, most urgent first."""
    cases = Case.objects.filter(status__in=ACTIVE, queue__in=queues_of(user))
    if queue is not None:
        cases = cases.filter(queue=queue)
    return cases.select_related("queue", "assignee", "decision__transaction").order_by(
        "-priority", "created_at", "pk"
    )


def cases_active_among(*, user: Any, case_ids: Sequence[int]) -> list[Case]:
    """Those of ``case_ids`` that are active in the user's queues (one decided meanwhile, or
    in a queue the user does not work, is left out), most urgent first."""
    return list(cases_active(user=user).filter(pk__in=case_ids))


def case_visible(*, user: Any, case_id: int) -> Case | None:
    """The case, if it is in one of the user's queues (decided ones included)."""
    return (
        Case.objects.filter(pk=case_id, queue__in=queues_of(user))
        .select_related("queue", "assignee", "decision__transaction")
        .first()
    )


@dataclass(frozen=True)
class FeatureRow:
    name: str
    value: float | None
    usual: float | None  # the median of this customer's earlier decisions


@dataclass(frozen=True)
class HistoryRow:
    transaction: Transaction
    outcome: str
    label: str


@dataclass(frozen=True)
class Related:
    entity: str
    value: str
    customer_id: str
    transactions: int
    fraud_labels: int


@dataclass
class Evidence:
    case: Case
    decision: Decision
    transaction: Transaction
    contributions: list[tuple[str, float]]
    features: list[FeatureRow]
    history: list[HistoryRow]
    related: list[Related]
    earlier_cases: list[Case]
    events: list[CaseEvent]
    comments: list[CaseComment]
    sla_breached: bool
    notes: list[str] = field(default_factory=list)
    walk: ScoreWalk | None = None
    feature_view: FeatureView | None = None


def case_evidence(*, case: Case, user: Any) -> Evidence:
    decision = case.decision
    txn = decision.transaction
    history = _history(txn)
    earlier = _earlier_features(history)
    notes: list[str] = []
    contributions = _contributions(decision, notes)
    walk = decision_score_walk(decision=decision)
    return Evidence(
        case=case,
        decision=decision,
        transaction=txn,
        contributions=contributions,
        features=_features(decision, earlier),
        walk=walk,
        feature_view=feature_view(
            names=FEATURE_NAMES,
            values=decision.features,
            earlier=earlier,
            contributions=walk.contributions,
            cited=[str(r["code"]).removeprefix("model.") for r in decision.reasons],
            currency=txn.currency,
        ),
        history=history,
        related=_related(txn),
        earlier_cases=list(
            Case.objects.filter(
                decision__transaction__integrator_id=txn.integrator_id,
                decision__transaction__customer_id=txn.customer_id,
                queue__in=queues_of(user),
            )
            .exclude(pk=case.pk)
            .select_related("queue")
            .order_by("-created_at")[:20]
        ),
        events=list(case.events.select_related("actor")),
        comments=list(case.comments.select_related("author")),
        sla_breached=case.status != CaseStatus.DECIDED and case.sla_due_at < timezone.now(),
        notes=notes,
    )


def _contributions(decision: Decision, notes: list[str]) -> list[tuple[str, float]]:
    """The model's contributions (log-odds) that the decision stored with its reasons, largest
    first: the page shows what the decision was made on, without asking the model again. One
    per reason, named by the reason's code without its ``model.`` prefix (a reason may group
    several features: "amount", "novelty"). Only the reasons toward fraud are stored, so the
    chart holds no bar toward legit."""
    if decision.model_version is None:
        notes.append("No model scored this decision: rules and lists decided it.")
        return []
    stored = [
        (str(reason["code"]).removeprefix("model."), float(contribution))
        for reason in decision.reasons
        if (contribution := reason.get("contribution")) is not None
    ]
    if decision.reasons_pending:
        notes.append(f"The model {decision.model_version} is still explaining this decision.")
    elif not stored:
        notes.append(f"The model {decision.model_version} stored no reasons for this decision.")
    ranked = sorted(stored, key=lambda item: abs(item[1]), reverse=True)
    return [(name, value) for name, value in ranked if value != 0.0]


def _history(txn: Transaction) -> list[HistoryRow]:
    """The customer's last transactions before this one, with outcome and latest label."""
    earlier = (
        Transaction.objects.filter(
            integrator_id=txn.integrator_id,
            customer_id=txn.customer_id,
            occurred_at__lte=txn.occurred_at,
        )
        .exclude(pk=txn.pk)
        .select_related("decision")
        .prefetch_related(
            Prefetch("labels", queryset=LabelEvent.objects.order_by("reported_at", "pk"))
        )
        .order_by("-occurred_at", "-pk")[:HISTORY_LIMIT]
    )
    rows = []
    for row in earlier:
        labels = list(row.labels.all())
        rows.append(HistoryRow(row, row.decision.outcome, labels[-1].label if labels else ""))
    return rows


def _earlier_features(history: list[HistoryRow]) -> list[dict[str, float | None]]:
    """The features of the customer's earlier decisions (those of ``history``)."""
    return list(
        Decision.objects.filter(transaction__in=[h.transaction for h in history]).values_list(
            "features", flat=True
        )
    )


def _features(decision: Decision, earlier: list[dict[str, float | None]]) -> list[FeatureRow]:
    rows = []
    for name in FEATURE_NAMES:
        values = [v for f in earlier if (v := f.get(name)) is not None]
        usual = statistics.median(values) if values else None
        rows.append(FeatureRow(name, decision.features.get(name), usual))
    return rows


# The shared values the case page looks for other customers by: list entity → its column.
RELATED_ENTITIES = tuple(
    (str(entity), LIST_VALUES[entity])
    for entity in (ListEntity.DEVICE, ListEntity.IP, ListEntity.CARD)
)


def _related(txn: Transaction) -> list[Related]:
    """Other customers seen with this transaction's device, IP address, card or e-mail, with
    their transaction and fraud-label counts (one query per shared value)."""
    found: list[Related] = []
    pairs = [*RELATED_ENTITIES, (str(ListEntity.EMAIL), LIST_VALUES[ListEntity.EMAIL])]
    for entity, column in pairs:
        value = getattr(txn, column)
        if not value:
            continue
        shared = Transaction.objects.filter(integrator_id=txn.integrator_id, **{column: value})
        others = (
            shared.exclude(customer_id=txn.customer_id)
            .values_list("customer_id", flat=True)
            .distinct()[:20]
        )
        counts = (
            Transaction.objects.filter(integrator_id=txn.integrator_id, customer_id__in=others)
            .values("customer_id")
            .annotate(
                transactions=Count("pk", distinct=True),
                fraud=Count("labels", filter=Q(labels__label=Label.FRAUD)),
            )
            .order_by("customer_id")
        )
        for row in counts:
            found.append(
                Related(
                    entity=entity,
                    value="(hashed)" if entity == "email" else str(value),
                    customer_id=row["customer_id"],
                    transactions=row["transactions"],
                    fraud_labels=row["fraud"],
                )
            )
    return found
