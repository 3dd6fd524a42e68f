"""The decision pipeline: one pure function, no Django.

``decide()`` runs features → lists → rules → model → outcome for one transaction. The API,
replays and backtests all call it, so a decision can be reproduced from what it recorded.

Reasons from the model (exact TreeSHAP) are computed in the request for review and decline,
where someone acts on them. An approval is explained after it is stored (``reasons_pending``):
SHAP costs more than the rest of an approval's pipeline.

Precedence (as in Stripe Radar): an allow-list entry or allow rule approves; otherwise a
block-list entry or decline rule declines without calling the model; otherwise the model's
score is held against the thresholds, and a review rule raises the outcome to at least review.
Only rules that act take part: a shadow rule's hits (and a rollout's outside its share, keyed
by the integrator and the transaction id) are returned apart, in ``shadow_rule_hits``.

A decision is ``degraded`` when a part failed or was missing and it was made without it: the
feature store (history-based features are then missing), the cold-feature generation (none
published yet: the 30/90-day and merchant features are missing) or the model (rules and lists
decide alone). Deciding again on ``recorded`` features (a backtest) reads no store, so it is
not degraded by either store condition.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rules.engine import Action, RuleHit, RuleSetResult, TransactionKey
from rules.policy import ListHit, ListType, Outcome, Policy, Thresholds
from scoring.explain import top_reasons
from scoring.features.definitions import (
    FEATURE_NAMES,
    Features,
    FeatureValue,
    Snapshot,
    compute_features,
)
from scoring.features.store import FeatureStore, FeatureStoreUnavailable
from scoring.scorer import Score, Scorer, ScorerError
from scoring.transaction import TransactionFacts


@dataclass(frozen=True)
class Reason:
    code: str
    text: str
    contribution: float | None = None


@dataclass(frozen=True)
class DecisionResult:
    outcome: str
    score: float | None
    reasons: tuple[Reason, ...]
    rule_hits: tuple[RuleHit, ...]
    rule_errors: tuple[str, ...]
    list_hits: tuple[ListHit, ...]
    features: Features
    model_version: str | None
    degraded: bool
    thresholds: Thresholds
    policy_revision: int
    timings_ms: Mapping[str, float]
    # The cold generation the features came from (seconds since the epoch), if any.
    cold_as_of: float | None = None
    # A model scored but did not explain (an approval): explain it after storing it.
    reasons_pending: bool = False
    # This call recorded the transaction in the feature store (not a retry, not degraded):
    # if it is not stored after all, the store must forget it.
    observed: bool = False
    # Hits (and errors) of rules evaluated in shadow: a shadow rule, a rollout outside its
    # share. Recorded apart; nothing above depends on them.
    shadow_rule_hits: tuple[RuleHit, ...] = ()
    shadow_rule_errors: tuple[str, ...] = ()

    @property
    def rules_outcome(self) -> str:
        """What lists and rules said on their own, before any model: the baseline a model is
        measured against (stored with the decision)."""
        return rules_verdict(
            self.list_hits, RuleSetResult(self.rule_hits, self.rule_errors)
        ).outcome

    @property
    def needs_case(self) -> bool:
        """An analyst must look: a review, or a decline a rule wants confirmed."""
        if self.outcome == Outcome.REVIEW:
            return True
        return self.outcome == Outcome.DECLINE and any(
            hit.action == Action.DECLINE_REVIEW for hit in self.rule_hits
        )


def decide(
    txn: TransactionFacts,
    *,
    ref: str,
    scope: str,
    store: FeatureStore,
    policy: Policy,
    scorer: Scorer,
    explain_approvals: bool = False,
    recorded: Mapping[str, FeatureValue] | None = None,
    fingerprint: str = "",
) -> DecisionResult:
    """Decide one transaction. ``ref`` identifies it in the store (retries share it), and
    ``fingerprint`` the request: the store raises :class:`RefConflict` for a ref it recorded
    with another fingerprint, before reading or counting anything.

    With ``explain_approvals`` an approval gets the model's reasons in the call too. With
    ``recorded`` (a stored decision's features) the store is not read: a backtest decides
    again on exactly what the decision saw.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    features, cold_as_of, degraded, observed = _features(
        txn, ref, scope, store, recorded, fingerprint
    )
    clock = _lap(timings, "features", clock)

    list_hits = policy.lists.match(txn.list_values())
    key = TransactionKey(scope=scope, transaction_id=txn.transaction_id)
    rules = policy.rules.evaluate(txn.rule_facts(features), key=key)
    clock = _lap(timings, "rules", clock)

    verdict = rules_verdict(list_hits, rules)
    score: Score | None = None
    if not verdict.settled:
        score, failed = _model_score(scorer, features)
        degraded = degraded or failed
        clock = _lap(timings, "model", clock)
    outcome = outcome_with_score(
        None if score is None else score.probability, verdict, policy.thresholds
    )

    reasons = _reasons(list_hits, rules, policy)
    explain_now = score is not None and (explain_approvals or outcome != Outcome.APPROVE)
    if explain_now:
        try:
            reasons += model_reasons(scorer, features, txn)
        except ScorerError:
            degraded = True
        _lap(timings, "explain", clock)
    return DecisionResult(
        outcome=outcome, score=None if score is None else score.probability,
        reasons=tuple(reasons), rule_hits=rules.hits, rule_errors=rules.errors,
        list_hits=tuple(list_hits), features=features,
        model_version=None if score is None else scorer.version, degraded=degraded,
        thresholds=policy.thresholds, policy_revision=policy.revision, timings_ms=timings,
        cold_as_of=cold_as_of, reasons_pending=score is not None and not explain_now,
        observed=observed, shadow_rule_hits=rules.shadow_hits,
        shadow_rule_errors=rules.shadow_errors,
    )  # fmt: skip


def _features(
    txn: TransactionFacts,
    ref: str,
    scope: str,
    store: FeatureStore,
    recorded: Mapping[str, FeatureValue] | None,
    fingerprint: str,
) -> tuple[Features, float | None, bool, bool]:
    """(features, the cold generation they came from, degraded, observed by this call)."""
    if recorded is not None:
        features = dict(zip(FEATURE_NAMES, map(recorded.get, FEATURE_NAMES), strict=True))
        return features, None, False, False
    event = txn.event(ref, fingerprint)
    try:
        snapshot = store.observe(event, scope=scope)
    except FeatureStoreUnavailable:
        # Decide on what the request itself says; history-based features are missing.
        return compute_features(event, Snapshot()), None, True, False
    observed = not snapshot.replayed
    if snapshot.cold is None:
        # No generation published yet (a fresh install): the cold features are all missing.
        return compute_features(event, snapshot), None, True, observed
    return compute_features(event, snapshot), snapshot.cold.as_of, False, observed


def model_reasons(scorer: Scorer, features: Features, txn: TransactionFacts) -> list[Reason]:
    """The model's top contributions toward fraud, in words. Raises ScorerError."""
    return [
        Reason(code, text, contribution)
        for code, text, contribution in top_reasons(
            scorer.explain(features), features, txn.currency, country_code=txn.country or ""
        )
    ]


def _lap(timings: dict[str, float], stage: str, since: float) -> float:
    now = time.perf_counter()
    timings[stage] = round((now - since) * 1000, 3)
    return now


@dataclass(frozen=True)
class RulesVerdict:
    """What lists and rules said on their own: ``outcome``, and whether they ``settled`` it
    (an allow or a decline, which no score changes) or left it to the model."""

    outcome: str
    settled: bool


def rules_verdict(list_hits: Sequence[ListHit], rules: RuleSetResult) -> RulesVerdict:
    """Lists and rules before any model. Settled: an allow-list entry or allow rule approves;
    otherwise a block-list entry or decline rule declines. Left to the model: review when a
    review rule fired (the floor the score is raised to), else approve."""
    if any(hit.list_type == ListType.ALLOW for hit in list_hits) or rules.first(Action.ALLOW):
        return RulesVerdict(Outcome.APPROVE, settled=True)
    if (
        any(hit.list_type == ListType.BLOCK for hit in list_hits)
        or rules.first(Action.DECLINE)
        or rules.first(Action.DECLINE_REVIEW)
    ):
        return RulesVerdict(Outcome.DECLINE, settled=True)
    floor = Outcome.REVIEW if rules.first(Action.REVIEW) else Outcome.APPROVE
    return RulesVerdict(floor, settled=False)


def outcome_with_score(
    probability: float | None, verdict: RulesVerdict, thresholds: Thresholds
) -> str:
    """The outcome a model's score (None: no score) gives after lists and rules said
    ``verdict``, under ``thresholds``: the one statement of how a score and the rules combine.
    ``decide()`` calls it, and so does shadow scoring (``scoring/shadow.py``), with a stored
    decision's own verdict and thresholds, for the outcome another model would have given."""
    if verdict.settled:
        return verdict.outcome
    outcome = Outcome.APPROVE if probability is None else thresholds.outcome(probability)
    if outcome == Outcome.APPROVE and verdict.outcome == Outcome.REVIEW:
        return Outcome.REVIEW
    return outcome


def _model_score(scorer: Scorer, features: Features) -> tuple[Score | None, bool]:
    """(score, whether the model failed) when lists and rules left it to the model."""
    try:
        return scorer.predict(features), False
    except ScorerError:
        return None, True


def _reasons(list_hits: list[ListHit], rules: RuleSetResult, policy: Policy) -> list[Reason]:
    reasons = [
        Reason(
            f"list.{hit.list_type}.{hit.entity}",
            f"The {hit.entity} is on the {hit.list_type} list.",
        )
        for hit in list_hits
    ]
    for hit in rules.hits:
        text = policy.rule_descriptions.get(hit.name) or f"Rule {hit.name}: {hit.expression}"
        reasons.append(Reason(f"rule.{hit.name}", text))
    return reasons
