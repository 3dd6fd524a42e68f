"""Backtesting a policy draft: what it alone would change.

The published policy and the candidate (the draft applied on top of it) both decide every
stored decision of the window again, through the same ``decide()``, on the features the
decision recorded and the score it got. Since both sides re-decide the same inputs, whatever
changed since a decision was made (a threshold edited and reverted, a list entry added) is on
both sides and cancels out: an unchanged rule shows zero changed outcomes.

Labels are those known now (``scoring.label_reads.labels_as_of``). In the confusion matrix a
decision is *flagged* when it is not approved (review or decline): flagged fraud is caught
(tp), flagged legit is challenged for nothing (fp), approved fraud slips through (fn).

A decision a rule declined or allowed was never scored: when the candidate leaves one of them
to the model, there is no score to hold against the thresholds, and it is decided on rules
alone and counted in ``unscored``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from fraudops.json_text import as_text
from rules import draft_changes
from rules.draft_changes import Changes
from rules.engine import RuleSetResult
from rules.loader import policy_load
from rules.models import BacktestStatus, PolicyBacktest
from rules.policy import Outcome, Policy
from scoring.backtest_sharing import SharedMatches, policy_sharing
from scoring.features.definitions import Features
from scoring.label_reads import events_label_facts, labels_of_rows
from scoring.models import Decision, Label, LabelEvent
from scoring.pipeline import DecisionResult, rules_verdict
from scoring.replay import decide_stored_row
from scoring.scorer import Score
from scoring.transaction import ROW_COLUMNS, RULE_FACTS, StoredTransaction, stored_from_row

SAMPLE = 50
PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class StoredDecision:
    """A stored decision as a backtest reads it (a row, not model instances)."""

    decision_id: str
    transaction_pk: int
    integrator_pk: int
    stored: StoredTransaction
    outcome: str
    score: float | None
    features: Features
    amount: Decimal
    currency: str
    case_id: int | None


# The features as their JSON text, parsed with orjson (fraudops/json_text.py).
_DECISION_COLUMNS = ("pk", "transaction_id", "outcome", "score", "features_text", "case__id")
_TXN_COLUMNS = tuple(f"transaction__{column}" for column in ROW_COLUMNS)


def decision_rows(decisions: QuerySet[Decision]) -> Iterator[StoredDecision]:
    """The decisions of ``decisions``, in its order, each with its transaction."""
    rows = (
        decisions.annotate(**as_text("features"))
        .values_list(*_DECISION_COLUMNS, *_TXN_COLUMNS)
        .iterator(chunk_size=5000)
    )
    width = len(_DECISION_COLUMNS)
    for row in rows:
        pk, txn_pk, outcome, score, features_text, case_id = row[:width]
        stored = stored_from_row(list(row[width:]))
        yield StoredDecision(
            str(pk), txn_pk, row[width], stored, outcome, score, orjson.loads(features_text),
            stored.facts.amount, stored.facts.currency, case_id,
        )  # fmt: skip


@dataclass
class Confusion:
    tp: int = 0  # fraud, flagged
    fp: int = 0  # legit, flagged
    fn: int = 0  # fraud, approved
    tn: int = 0  # legit, approved
    unlabelled: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def add(self, label: str | None, flagged: bool) -> None:
        if label == Label.FRAUD:
            self.tp, self.fn = self.tp + flagged, self.fn + (not flagged)
        elif label == Label.LEGIT:
            self.fp, self.tn = self.fp + flagged, self.tn + (not flagged)
        else:
            self.unlabelled += 1


@dataclass
class Side:
    """What one policy decided over the window."""

    outcomes: Counter[str] = field(default_factory=Counter)
    hits: Counter[str] = field(default_factory=Counter)  # rule name → decisions it fired on
    confusion: Confusion = field(default_factory=Confusion)
    fraud_caught: dict[str, float] = field(default_factory=dict)  # currency → amount flagged
    cases: int = 0  # decisions an analyst must look at
    unscored: int = 0

    def add(self, result: DecisionResult, row: StoredDecision, label: str | None) -> None:
        self.outcomes[result.outcome] += 1
        self.hits.update({hit.name for hit in result.rule_hits})
        flagged = result.outcome != Outcome.APPROVE
        self.confusion.add(label, flagged)
        if flagged and label == Label.FRAUD:
            caught = self.fraud_caught.get(row.currency, 0.0) + float(row.amount)
            self.fraud_caught[row.currency] = caught
        self.cases += result.needs_case
        self.unscored += row.score is None and _left_to_model(result)

    def merge(self, other: Side) -> None:
        self.outcomes.update(other.outcomes)
        self.hits.update(other.hits)
        for name in ("tp", "fp", "fn", "tn", "unlabelled"):
            setattr(
                self.confusion, name, getattr(self.confusion, name) + getattr(other.confusion, name)
            )
        for currency, amount in other.fraud_caught.items():
            self.fraud_caught[currency] = self.fraud_caught.get(currency, 0.0) + amount
        self.cases += other.cases
        self.unscored += other.unscored


def _left_to_model(result: DecisionResult) -> bool:
    """Lists and rules left the outcome to the model's score."""
    rules = RuleSetResult(result.rule_hits, result.rule_errors)
    return not rules_verdict(result.list_hits, rules).settled


@dataclass(frozen=True)
class Changed:
    decision_id: str
    transaction_id: str
    occurred_at: str
    amount: str
    before: str
    after: str
    label: str
    case_id: int | None


@dataclass
class BacktestResult:
    since: datetime
    until: datetime
    decisions: int = 0
    capped: bool = False
    before: Side = field(default_factory=Side)  # the published policy
    after: Side = field(default_factory=Side)  # the draft on top of it
    changes: Counter[str] = field(default_factory=Counter)  # "approve→review" → count
    # Stored outcomes the published policy no longer gives (what changed since, not the draft).
    stored_differs: int = 0
    samples: list[Changed] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(self.changes.values())

    @property
    def days(self) -> float:
        return max((self.until - self.since) / timedelta(days=1), 1e-9)

    def reviews_per_day(self, side: Side) -> float:
        return side.cases / self.days

    def merge(self, other: BacktestResult) -> None:
        self.decisions += other.decisions
        self.capped = self.capped or other.capped
        self.before.merge(other.before)
        self.after.merge(other.after)
        self.changes.update(other.changes)
        self.stored_differs += other.stored_differs
        self.samples = (self.samples + other.samples)[:SAMPLE]

    def as_json(self) -> dict[str, Any]:
        """The result as stored (``PolicyBacktest.result``)."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "decisions": self.decisions,
            "capped": self.capped,
            "before": self._side_json(self.before),
            "after": self._side_json(self.after),
            "changes": dict(self.changes),
            "changed": self.changed,
            "stored_differs": self.stored_differs,
            "samples": [asdict(sample) for sample in self.samples],
        }

    def _side_json(self, side: Side) -> dict[str, Any]:
        return {
            "outcomes": dict(side.outcomes),
            "hits": dict(side.hits.most_common()),
            "confusion": asdict(side.confusion),
            "precision": side.confusion.precision,
            "recall": side.confusion.recall,
            "fraud_caught": side.fraud_caught,
            "cases": side.cases,
            "reviews_per_day": self.reviews_per_day(side),
            "unscored": side.unscored,
        }


class _RecordedScorer:
    """The score the decision got (the model is deterministic: scoring again gives it)."""

    version: str | None = "recorded"

    def __init__(self) -> None:
        self.probability: float | None = None

    def predict(self, features: Any) -> Score | None:
        return None if self.probability is None else Score(self.probability)

    def explain(self, features: Any) -> dict[str, float]:
        return {}  # reasons are not what a backtest weighs


class _NoStore:
    """A backtest never reads the feature store: it decides on the recorded features."""

    def observe(self, event: Any, *, scope: str) -> Any:
        raise AssertionError("a backtest must not read or write the feature store")

    def forget(self, event: Any, *, scope: str) -> bool:
        raise AssertionError("a backtest must not read or write the feature store")


_NO_STORE = _NoStore()


def policies_for(changes: Changes) -> tuple[Policy, Policy]:
    """(the published policy as stored now, that policy with ``changes`` applied). Raises
    :class:`rules.engine.InvalidRule` when a proposed rule does not compile."""
    published = policy_load()
    return published, draft_changes.policy_with_changes(published, changes, RULE_FACTS)


def policies_backtest(
    rows: Iterable[StoredDecision],
    *,
    published: Policy,
    candidate: Policy,
    labels: Mapping[int, str],
    since: datetime,
    until: datetime,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Re-decide each of ``rows`` under both policies; ``labels``: transaction pk → label."""
    result = BacktestResult(since=since, until=until)
    scorer = _RecordedScorer()
    shared = SharedMatches()
    published, candidate = policy_sharing(published, shared), policy_sharing(candidate, shared)
    for row in rows:
        scorer.probability = row.score
        shared.row_begin()
        before = _decide(row, published, scorer)
        after = _decide(row, candidate, scorer)
        label = labels.get(row.transaction_pk)
        result.decisions += 1
        result.before.add(before, row, label)
        result.after.add(after, row, label)
        result.stored_differs += before.outcome != row.outcome
        if before.outcome != after.outcome:
            result.changes[f"{before.outcome}→{after.outcome}"] += 1
            if len(result.samples) < SAMPLE:
                result.samples.append(_changed(row, before.outcome, after.outcome, label))
        if progress is not None and result.decisions % PROGRESS_EVERY == 0:
            progress(result.decisions)
    return result


def _decide(row: StoredDecision, policy: Policy, scorer: _RecordedScorer) -> DecisionResult:
    return decide_stored_row(
        row.stored, store=_NO_STORE, policy=policy, scorer=scorer, recorded=row.features
    )


def _changed(row: StoredDecision, before: str, after: str, label: str | None) -> Changed:
    facts = row.stored.facts
    return Changed(
        row.decision_id, facts.transaction_id, facts.occurred_at.isoformat(),
        f"{row.amount:.2f} {row.currency}", before, after, label or "", row.case_id,
    )  # fmt: skip


def window_decisions(*, since: datetime, until: datetime) -> QuerySet[Decision]:
    """The stored decisions of transactions that occurred in [since, until), newest first."""
    return Decision.objects.filter(
        transaction__occurred_at__gte=since, transaction__occurred_at__lt=until
    ).order_by("-transaction__occurred_at", "pk")


def decisions_backtest(
    *,
    changes: Changes,
    decisions: QuerySet[Decision],
    since: datetime,
    until: datetime,
    moment: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> BacktestResult:
    """Backtest ``changes`` over ``decisions`` (at most BACKTEST_MAX_DECISIONS of them), with
    the labels known at ``moment`` (default: now)."""
    published, candidate = policies_for(changes)
    cap = settings.BACKTEST_MAX_DECISIONS
    labels: dict[int, str] = {}
    rows = _labelled(decision_rows(decisions[: cap + 1]), labels, moment or timezone.now())
    kept = _First(rows, cap)
    result = policies_backtest(
        kept, published=published, candidate=candidate, labels=labels,
        since=since, until=until, progress=progress,
    )  # fmt: skip
    result.capped = kept.more
    return result


LABEL_BATCH = 5000


def _labelled(
    rows: Iterator[StoredDecision], labels: dict[int, str], moment: datetime
) -> Iterator[StoredDecision]:
    """``rows``, a batch at a time, each batch's labels (as of ``moment``) put into ``labels``
    before its rows are yielded. A batch's label events are read by the time span of its
    transactions (one indexed join, not a list of ids): rows come newest first, so a batch
    spans little, and labels of other transactions in the span are never looked up."""
    while batch := list(itertools.islice(rows, LABEL_BATCH)):
        times = [row.stored.facts.occurred_at for row in batch]
        events = LabelEvent.objects.filter(
            transaction__occurred_at__gte=min(times), transaction__occurred_at__lte=max(times)
        )
        labels.update(
            labels_of_rows(
                rows=(
                    (r.transaction_pk, r.stored.facts.occurred_at, r.integrator_pk) for r in batch
                ),
                facts=events_label_facts(events=events, moment=moment),
                moment=moment,
            )
        )
        yield from batch


class _First:
    """The first ``count`` of ``rows``; ``more`` tells, once they are read, whether there were
    more (a backtest over the cap reads one row past it instead of an OFFSET query)."""

    def __init__(self, rows: Iterator[StoredDecision], count: int) -> None:
        self._rows, self._count, self.more = rows, count, False

    def __iter__(self) -> Iterator[StoredDecision]:
        for seen, row in enumerate(self._rows):
            if seen == self._count:
                self.more = True
                return
            yield row


def backtest_run(*, backtest_id: int) -> PolicyBacktest:
    """Run a stored backtest (the Celery task's body): its draft's content as it was asked,
    over the ``days`` before it was asked; progress is written as it goes."""
    backtest = PolicyBacktest.objects.select_related("draft").get(pk=backtest_id)
    until = backtest.created_at
    since = until - timedelta(days=backtest.days)
    decisions = window_decisions(since=since, until=until)
    total = max(min(decisions.count(), settings.BACKTEST_MAX_DECISIONS), 1)
    PolicyBacktest.objects.filter(pk=backtest.pk).update(status=BacktestStatus.RUNNING)

    def progress(done: int) -> None:
        PolicyBacktest.objects.filter(pk=backtest.pk).update(progress=min(done / total, 0.99))

    changes = draft_changes.changes_from(backtest.draft.changes)
    try:
        if draft_changes.changes_hash(changes) != backtest.content_hash:
            raise ValueError("The draft changed after this backtest was asked for.")
        result = decisions_backtest(
            changes=changes, decisions=decisions, since=since, until=until, progress=progress
        )
    except Exception as exc:
        PolicyBacktest.objects.filter(pk=backtest.pk).update(
            status=BacktestStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    PolicyBacktest.objects.filter(pk=backtest.pk).update(
        status=BacktestStatus.DONE, progress=1.0, result=result.as_json(),
        finished_at=timezone.now(),
    )  # fmt: skip
    backtest.refresh_from_db()
    return backtest
