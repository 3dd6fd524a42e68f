"""Testing a rule, or thresholds, on history before they go live.

Every stored decision of the period is decided again by the same ``decide()``, on the
features it recorded and the score it got, under the policy in force with the candidate rule
added (or put in place of the rule it edits). What changes, and how the transactions it fires
on were labelled since, is what an admin weighs before saving it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from rules.engine import Action, RuleSet, RuleSpec
from rules.loader import current_policy
from rules.policy import Outcome, Policy, Thresholds
from scoring.label_reads import labels_as_of
from scoring.models import Decision, Transaction
from scoring.replay import decide_stored
from scoring.scorer import Score
from scoring.transaction import RULE_FACTS

# A backtest runs inside an admin request: the newest decisions of the period, at most this many.
MAX_DECISIONS = 50_000
SAMPLE = 50


@dataclass(frozen=True)
class Candidate:
    """A change to try: a rule (new, or in place of ``replaces``), other thresholds, or both."""

    name: str = ""
    expression: str = ""  # empty: no rule change
    action: str = "review"
    replaces: str | None = None  # the rule being edited: left out of the policy
    thresholds: Thresholds | None = None  # None: the thresholds in force


@dataclass(frozen=True)
class Changed:
    transaction_id: str
    occurred_at: datetime
    amount: str
    before: str
    after: str
    label: str


@dataclass
class BacktestResult:
    since: datetime
    decisions: int = 0
    capped: bool = False
    fired: int = 0
    fired_fraud: int = 0
    fired_legit: int = 0
    fraud: int = 0
    fraud_challenged_before: int = 0
    fraud_challenged_after: int = 0
    legit_challenged_before: int = 0
    legit_challenged_after: int = 0
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    samples: list[Changed] = field(default_factory=list)

    @property
    def fired_precision(self) -> float | None:
        labelled = self.fired_fraud + self.fired_legit
        return self.fired_fraud / labelled if labelled else None


class _RecordedScorer:
    """The score the decision got (the model is deterministic: scoring again gives it)."""

    def __init__(self) -> None:
        self.probability: float | None = None
        self.version: str | None = None

    def predict(self, features: Any) -> Score | None:
        return None if self.probability is None else Score(self.probability)

    def explain(self, features: Any) -> dict[str, float]:
        return {}  # reasons are not what a backtest weighs


def _candidate_policy(candidate: Candidate) -> Policy:
    policy = current_policy()
    specs = list(policy.rules.specs)
    if candidate.expression:
        left_out = {candidate.name, candidate.replaces}
        specs = [s for s in specs if s.name not in left_out]
        specs.append(RuleSpec(candidate.name, 0, candidate.expression, Action(candidate.action)))
    return Policy(
        revision=-1,
        rules=RuleSet(specs, RULE_FACTS),
        lists=policy.lists,
        thresholds=candidate.thresholds or policy.thresholds,
        rule_descriptions=policy.rule_descriptions,
    )


def rule_backtest(*, candidate: Candidate, days: int) -> BacktestResult:
    """Decide the last ``days`` of stored decisions again with ``candidate`` in the policy.

    Raises :class:`rules.engine.InvalidRule` when the expression does not compile.
    """
    policy = _candidate_policy(candidate)
    since = timezone.now() - timedelta(days=days)
    result = BacktestResult(since=since)
    decisions = (
        Decision.objects.filter(transaction__occurred_at__gte=since)
        .select_related("transaction")
        .order_by("-transaction__occurred_at")[: MAX_DECISIONS + 1]
    )
    rows = list(decisions)
    result.capped = len(rows) > MAX_DECISIONS
    rows = rows[:MAX_DECISIONS]
    # What each transaction turned out to be, as known now (scoring.label_reads).
    labels = labels_as_of(
        transactions=Transaction.objects.filter(occurred_at__gte=since), moment=timezone.now()
    )
    scorer = _RecordedScorer()
    for decision in rows:
        txn = decision.transaction
        scorer.probability, scorer.version = decision.score, decision.model_version
        again = decide_stored(
            txn, store=_NO_STORE, policy=policy, scorer=scorer, recorded=decision.features
        )
        label = labels.get(txn.pk, "")
        fired = bool(candidate.expression) and any(
            hit.name == candidate.name for hit in again.rule_hits
        )
        _tally(result, decision.outcome, again.outcome, label, fired)
        if decision.outcome != again.outcome and len(result.samples) < SAMPLE:
            result.samples.append(
                Changed(
                    txn.transaction_id, txn.occurred_at, f"{txn.amount:.2f} {txn.currency}",
                    decision.outcome, again.outcome, label,
                )
            )  # fmt: skip
    return result


def _tally(result: BacktestResult, before: str, after: str, label: str, fired: bool) -> None:
    result.decisions += 1
    result.before[before] += 1
    result.after[after] += 1
    if before != after:
        result.changes[(before, after)] += 1
    if fired:
        result.fired += 1
        result.fired_fraud += label == "fraud"
        result.fired_legit += label == "legit"
    if label == "fraud":
        result.fraud += 1
        result.fraud_challenged_before += before != Outcome.APPROVE
        result.fraud_challenged_after += after != Outcome.APPROVE
    elif label == "legit":
        result.legit_challenged_before += before != Outcome.APPROVE
        result.legit_challenged_after += after != Outcome.APPROVE


class _NoStore:
    """A backtest never reads the feature store: it decides on the recorded features."""

    def observe(self, event: Any, *, scope: str) -> Any:
        raise AssertionError("a backtest must not read or write the feature store")

    def forget(self, event: Any, *, scope: str) -> bool:
        raise AssertionError("a backtest must not read or write the feature store")


_NO_STORE = _NoStore()
