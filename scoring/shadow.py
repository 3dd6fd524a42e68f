"""Shadow scoring: the challenger scores live decisions off the request path.

While a version is in shadow, ``shadow_scores_fill`` scores the decisions made since it
entered shadow, from the features each decision stored (exactly what the champion saw), and
stores a :class:`~scoring.models.ShadowScore` per decision with the outcome that score would
have given under the decision's own rules and thresholds (``pipeline.outcome_with_score``,
the rule ``decide()`` follows). The request adds nothing: a Celery beat task drains the
backlog every ``SHADOW_SCORE_SECONDS``; the embedded default (no broker, so no beat) runs the
same on a thread of the server (``shadow_filler_start``).

Every decision of the window gets both models' scores: the challenger's (unless it decided
it itself, as a canary) and the champion's (unless the champion decided it: a canary, or one
lists and rules settled, where no model ran). ``scoring/shadow_reads.py`` reads them side by
side.

Idempotent: a batch is inserted whole or not at all and a score stored twice is ignored
(one per decision and version), so a worker killed mid-batch loses nothing and duplicates
nothing. On PostgreSQL one worker fills at a time (an advisory lock): two would score the
same oldest batch twice.

A fill that left nothing to score stores two cursors in the cache, so a week-long window is
not scanned whole every few seconds (:class:`Cursors`): *forward*, its start less
``IN_FLIGHT_MARGIN``, where the next fill starts; and, when it scanned from there, *complete*,
its start less ``LATE_COMMIT_MARGIN``. A fill starts from *complete* again (a sweep) once that
is ``SWEEP_EVERY`` older than a sweep would leave it: a decision whose transaction committed
later than ``IN_FLIGHT_MARGIN`` after it was made is scored by the next sweep, within a minute,
and the fills in between scan seconds of decisions, not minutes (each scanned decision is a
probe for its score). Only a fill that scored everything moves a cursor, and without the cache
the fill scans from the window's start.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from fraudops.json_text import as_text
from rules.engine import Action, RuleHit, RuleSetResult
from rules.policy import ListHit, ListType, Thresholds
from scoring import in_process, serving
from scoring.features.definitions import FeatureValue
from scoring.lgbm import LightGBMScorer
from scoring.models import Decision, ModelStatus, ModelVersion, ShadowScore
from scoring.pipeline import RulesVerdict, outcome_with_score, rules_verdict
from scoring.records import ListHitRecord, RuleFiredRecord, ThresholdsRecord
from scoring.scorer import Score, Scorer, ScorerError

logger = logging.getLogger(__name__)

# The advisory lock's key: any fixed 31-bit number of our own.
_FILL_LOCK = zlib.crc32(b"fraudops.shadow_scores_fill") & 0x7FFFFFFF
# A decision is seen by the fill once its transaction commits. One whose request began longer
# ago than this has committed or failed: gunicorn kills a worker after 30 s and a request waits
# at most 0.5 s for a connection. So a complete fill may skip, next time, what is older than
# its start minus this margin.
LATE_COMMIT_MARGIN = timedelta(minutes=2)
# Nearly every request commits within milliseconds of making its decision: a fill between two
# sweeps looks back this far for the few that committed after the previous fill began.
IN_FLIGHT_MARGIN = timedelta(seconds=5)
# How often a fill sweeps the whole LATE_COMMIT_MARGIN for the decisions committed later.
SWEEP_EVERY = timedelta(minutes=1)
CURSOR_SECONDS = 7 * 24 * 3600
# How long one drain goes on at most (about 300 000 decisions at ~50 ms a batch of 500).
DRAIN_SECONDS = 30.0


def shadow_scores_fill(*, batch: int = 500) -> int:
    """Score up to ``batch`` decisions of the shadow window that lack a score, oldest first:
    the challenger's first, then the champion's. Returns how many were scored (0: nothing in
    shadow, nothing left, another worker is filling, or the model file did not load; a model
    that fails is logged, never raised: the worker's loop goes on)."""
    by_status = {
        version.status: version
        for version in ModelVersion.objects.filter(
            status__in=[ModelStatus.SHADOW, ModelStatus.CHAMPION]
        ).order_by("-pk")  # the newest of each wins, as .first() would not promise
    }
    shadow, champion = by_status.get(ModelStatus.SHADOW), by_status.get(ModelStatus.CHAMPION)
    if shadow is None or shadow.status_changed_at is None:
        return 0
    started = timezone.now()
    key = _cursor_key(shadow, champion, shadow.status_changed_at)
    cursors = _cursors(key) or Cursors(shadow.status_changed_at, shadow.status_changed_at)
    since, sweep = cursors.since(started)
    since = max(shadow.status_changed_at, since)
    with transaction.atomic():
        if not _fill_lock_taken():
            return 0
        scored, done = _fill_for(shadow, since=since, batch=batch)
        if champion is not None:
            extra, champion_done = (
                _fill_for(champion, since=since, batch=batch - scored)
                if scored < batch
                else (0, False)
            )
            scored, done = scored + extra, done and champion_done
    if done:
        # Committed: every decision made before this fill began is scored (allowing for
        # requests still in flight then), so the next fill need not look further back.
        _cursors_set(key, cursors.after(started, swept=sweep))
    return scored


def shadow_scores_drain(*, batch: int = 500, seconds: float = DRAIN_SECONDS) -> int:
    """Fill batch after batch until the backlog is empty or ``seconds`` have passed (the next
    run goes on from there: a run does not hold a worker for ever). Returns how many were
    scored."""
    deadline = time.monotonic() + seconds
    total = 0
    while time.monotonic() < deadline:
        scored = shadow_scores_fill(batch=batch)
        total += scored
        if scored < batch:
            break
    return total


_filler: threading.Thread | None = None
_filler_lock = threading.Lock()


def shadow_filler_start() -> threading.Thread | None:
    """The embedded default's shadow worker: drain the backlog every ``SHADOW_SCORE_SECONDS``
    on a thread of this server. Only without a broker (with one, beat runs the task) and
    unless ``SHADOW_SCORE_IN_PROCESS`` is off; call it once, where the server starts."""
    global _filler
    if not (settings.CELERY_TASK_ALWAYS_EAGER and settings.SHADOW_SCORE_IN_PROCESS):
        return None
    with _filler_lock:
        if _filler is None:  # a second start-up (a second lifespan) starts no second thread
            _filler = in_process.every(
                lambda: settings.SHADOW_SCORE_SECONDS,
                lambda: shadow_scores_drain(batch=settings.SHADOW_SCORE_BATCH),
                name="shadow-scorer",
                failure="shadow scoring failed; the next run tries again",
            )
        return _filler


def _fill_lock_taken() -> bool:
    # SQLite (the embedded default) has one server process and no advisory locks.
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_FILL_LOCK])
        row = cursor.fetchone()
    return bool(row and row[0])


# What the fill reads of a decision: plain tuples, not model instances (a fill reads hundreds),
# its JSON as text, parsed with orjson: json.loads of the features was most of a fill's CPU.
_JSON_FIELDS = ("features", "rules", "list_hits", "thresholds")
_Pending = tuple[
    uuid.UUID, dict[str, FeatureValue], list[RuleFiredRecord], list[ListHitRecord], str,
    ThresholdsRecord,
]  # fmt: skip


def _fill_for(version: ModelVersion, *, since: datetime, batch: int) -> tuple[int, bool]:
    """Score, with ``version``, the oldest ``batch`` decisions since ``since`` that it neither
    decided nor scored yet: (how many it scored, whether none is left)."""
    pending = [
        _pending(row)
        for row in Decision.objects.filter(created_at__gte=since)
        .exclude(model_version=version.name)
        .exclude(Exists(ShadowScore.objects.filter(decision=OuterRef("pk"), model_version=version)))
        .order_by("created_at", "pk")
        .annotate(**as_text(*_JSON_FIELDS))
        .values_list("id", "rules_outcome", *(f"{name}_text" for name in _JSON_FIELDS))[:batch]
    ]
    if not pending:
        return 0, True
    scorer = serving.version_scorer_kept(version)
    if isinstance(scorer, serving.BrokenModelScorer):
        return 0, False  # serving logged why, once
    try:
        scores = _scores(scorer, [row[1] for row in pending])
    except ScorerError as exc:
        logger.error(
            "shadow scoring with %s failed, %d decisions wait: %s", version, len(pending), exc
        )
        return 0, False
    rows = [
        ShadowScore(
            decision_id=decision_id,
            model_version_id=version.pk,
            score=score.probability,
            outcome=outcome_with_score(
                score.probability,
                _verdict_of(rules, list_hits, rules_outcome),
                _thresholds_of(thresholds),
            ),
        )
        for (decision_id, _, rules, list_hits, rules_outcome, thresholds), score in zip(
            pending, scores, strict=True
        )
        if score is not None
    ]
    ShadowScore.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows), len(pending) < batch


def _pending(row: tuple[Any, ...]) -> _Pending:
    decision_id, rules_outcome, features, rules, list_hits, thresholds = row
    return (
        decision_id, orjson.loads(features), orjson.loads(rules), orjson.loads(list_hits),
        rules_outcome, orjson.loads(thresholds),
    )  # fmt: skip


@dataclass(frozen=True)
class Cursors:
    """Where complete fills of a window left off. Before ``complete`` every decision is
    scored; before ``forward`` every one is, but for those committed more than
    ``IN_FLIGHT_MARGIN`` after they were made."""

    complete: datetime
    forward: datetime

    def since(self, now: datetime) -> tuple[datetime, bool]:
        """Where a fill starting at ``now`` scans from, and whether that is a sweep."""
        if now - self.complete >= LATE_COMMIT_MARGIN + SWEEP_EVERY:
            return self.complete, True
        return max(self.complete, self.forward), False

    def after(self, started: datetime, *, swept: bool) -> Cursors:
        """The cursors once a fill that began at ``started`` left nothing to score."""
        complete = started - LATE_COMMIT_MARGIN if swept else self.complete
        return Cursors(complete, max(complete, started - IN_FLIGHT_MARGIN))


def _cursor_key(shadow: ModelVersion, champion: ModelVersion | None, since: datetime) -> str:
    # A new shadow, champion or shadow start is a new window, scanned from its start.
    champion_pk = 0 if champion is None else champion.pk
    return f"shadow-fill-cursors:{shadow.pk}:{champion_pk}:{since.timestamp()}"


def _cursors(key: str) -> Cursors | None:
    """Where the previous complete fills of this window left off, if the cache still has it.
    Only a shortcut: without it the fill scans the window from its start, as correct."""
    try:
        value = cache.get(key)
    except Exception:  # the cache is down: scan it all, do not stop the worker
        logger.warning("shadow fill: cursor not read, scanning the whole window", exc_info=True)
        return None
    if not (isinstance(value, tuple) and len(value) == 2):
        return None
    complete, forward = (datetime.fromtimestamp(at, UTC) for at in value)
    return Cursors(complete, forward)


def _cursors_set(key: str, cursors: Cursors) -> None:
    try:
        value = (cursors.complete.timestamp(), cursors.forward.timestamp())
        cache.set(key, value, timeout=CURSOR_SECONDS)
    except Exception:  # the next fill scans more, that is all
        logger.warning("shadow fill: cursor not stored", exc_info=True)


def _scores(scorer: Scorer, rows: Sequence[dict[str, FeatureValue]]) -> Sequence[Score | None]:
    if isinstance(scorer, LightGBMScorer):
        return scorer.predict_many(rows)
    return [scorer.predict(row) for row in rows]


def _verdict_of(
    rules: list[RuleFiredRecord], list_hits: list[ListHitRecord], rules_outcome: str
) -> RulesVerdict:
    """What lists and rules said for a decision, as it stored it. ``rules_outcome`` is the
    outcome; whether they settled it is read from the hits recorded with it (an approval is
    an allow or nothing, and only an allow keeps a score from changing it)."""
    if not rules and not list_hits:  # most decisions: nothing fired, nothing to rebuild
        return RulesVerdict(rules_outcome, settled=rules_verdict([], _NOTHING_FIRED).settled)
    hits = [
        ListHit(ListType(hit["list_type"]), hit["entity"], hit["entry_id"]) for hit in list_hits
    ]
    fired = RuleSetResult(
        tuple(
            RuleHit(rule["rule"], rule["version"], Action(rule["action"]), rule["expression"])
            for rule in rules
        ),
        (),
    )
    return RulesVerdict(rules_outcome, settled=rules_verdict(hits, fired).settled)


_NOTHING_FIRED = RuleSetResult((), ())


def _thresholds_of(thresholds: ThresholdsRecord) -> Thresholds:
    return Thresholds(review=float(thresholds["review"]), decline=float(thresholds["decline"]))
