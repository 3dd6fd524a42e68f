"""Per-process singletons of the serving path: the feature store and the active model.

Building them has no side effect: ``feature_store()`` only constructs the store. What makes a
process ready to serve is one explicit call, ``warm_up()``, made where the process starts
serving (the ASGI lifespan start-up in ``fraudops/asgi.py``, gunicorn's ``post_worker_init`` in
``gunicorn.conf.py``, the ``simulate`` command before it decides a history). A server that did
not make it is warmed before its first decision, with a warning, never served cold.

The active model is loaded once per process and swapped when another version is promoted:
a worker checks which version is the champion, and which is in shadow with what canary share,
at most every ``MODEL_REFRESH_SECONDS``.

``override(store=..., scorer=...)`` is the seam for tests and benchmarks (as httpx's mock
transport is for a client): inside it the process serves with the parts given, and what was
there before is back on exit.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict

from django.conf import settings

from scoring.canary import decided_by_challenger
from scoring.cold_lookup import StoredCold
from scoring.cold_refresh import cold_features_refresh, cold_refresher_start
from scoring.features.definitions import FEATURE_NAMES, Snapshot
from scoring.features.event import Event
from scoring.features.memory_store import MemoryFeatureStore
from scoring.features.online import OnlineStore
from scoring.features.store import (
    FeatureStore,
    FeatureStoreUnavailable,
    RedisFeatureStore,
)
from scoring.lgbm import Calibration, LightGBMScorer, ModelLoadError
from scoring.models import ModelStatus, ModelVersion
from scoring.outage import Outage
from scoring.replay import store_warm
from scoring.scorer import NoModelScorer, Score, Scorer, ScorerError

logger = logging.getLogger(__name__)


@functools.cache
def _own_store() -> OnlineStore:
    """This process's store, built once: Redis when ``REDIS_URL`` is set, else its memory
    (the embedded default). Only built: ``warm_up()`` fills an in-process one."""
    if settings.FEATURE_STORE == "redis":
        return RedisFeatureStore.from_url(
            settings.REDIS_URL, timeout=settings.REDIS_TIMEOUT_SECONDS
        )
    return MemoryFeatureStore()


def feature_store() -> OnlineStore:
    """The store this process serves with: the one given to ``override()``, else its own."""
    given = _serving.store
    return _own_store() if given is None else given


_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Make this process ready to serve; call it once, before the first request.

    The embedded default keeps features in memory: its store is warmed with every stored
    transaction and, unless ``COLD_FEATURES_REFRESH_IN_PROCESS`` is off, gets its cold-feature
    generation and the thread that refreshes it. A Redis store is shared and already holds
    its history: nothing to do. A second call does nothing (the history must not be counted
    twice), and neither does a call while ``override()`` gives the store: a test serves its
    store as it built it.
    """
    global _warmed
    with _warm_lock:
        if _warmed or _serving.store is not None:
            return
        # Marked first: a warm-up that failed half-way is not repeated onto the same store.
        _warmed = True
        store = _own_store()
        if isinstance(store, MemoryFeatureStore):
            _memory_store_warm(store)


def _memory_store_warm(store: MemoryFeatureStore) -> None:
    started = time.perf_counter()
    count = store_warm(store)
    logger.warning(
        "in-process feature store warmed with %d transactions in %.1f s",
        count,
        time.perf_counter() - started,
    )
    if settings.COLD_FEATURES_REFRESH_IN_PROCESS:
        cold_features_refresh(store=store)
        cold_refresher_start(store)


# Never skipped while down: every decision tries the store, so none goes without history a
# moment longer than Redis is away (the store's own timeout bounds what a try costs).
# While the store is down, decisions skip it (degraded at once, instead of each waiting out
# the timeout) and one per FEATURE_STORE_PROBE_SECONDS tries it again.
def _store_outage() -> Outage:
    return Outage(
        "feature store",
        consequence="decisions degraded",
        probe_every=settings.FEATURE_STORE_PROBE_SECONDS,
    )


class TrackedStore:
    """A store whose outages are logged once each, with the decisions they degraded."""

    def __init__(self, store: FeatureStore, outage: Outage) -> None:
        self._store = store
        self._outage = outage

    def observe(self, event: Event, *, scope: str) -> Snapshot:
        if not self._outage.should_try():
            self._outage.skipped()
            raise FeatureStoreUnavailable("skipped while the feature store is down")
        try:
            snapshot = self._store.observe(event, scope=scope)
        except FeatureStoreUnavailable as exc:
            self._outage.failed(exc)
            raise
        self._outage.succeeded()
        return snapshot

    def forget(self, event: Event, *, scope: str) -> bool:
        # Not tracked: a forget follows an observe that just worked.
        return self._store.forget(event, scope=scope)


def decision_store() -> FeatureStore:
    """The feature store as the decision path uses it: outages are tracked and logged."""
    state = _serving
    if state.store is None and not _warmed:
        _warm_up_late()
    store = _own_store() if state.store is None else state.store
    return TrackedStore(store, state.store_outage)


def _warm_up_late() -> None:
    """A server that never called ``warm_up()`` (``runserver``, another WSGI/ASGI server, a
    gunicorn config of its own) would decide on an empty in-process store: warm it before its
    first decision instead, and say how to warm it at start."""
    logger.warning(
        "serving.warm_up() was not called at start-up; warming before the first decision "
        "(serve with gunicorn fraudops.wsgi or uvicorn fraudops.asgi:application, or call it)"
    )
    warm_up()


def stored_cold() -> StoredCold:
    """Where back-filled transactions read their cold values (``scoring.cold_lookup``)."""
    return _serving.stored_cold


class BrokenModelScorer:
    """The active model could not be loaded: every decision is degraded until it is fixed."""

    def __init__(self, version: str, error: str) -> None:
        self.version: str | None = version
        self.error = error

    def predict(self, features: object) -> Score | None:
        raise ScorerError(self.error)

    def explain(self, features: object) -> dict[str, float]:
        raise ScorerError(self.error)


@dataclass(frozen=True)
class _Held:
    """What a worker decides with, as of its last check: the champion's scorer and, while a
    version is in shadow, that version and its canary share (its scorer is loaded only once
    the share is above 0: until then the web workers have no use for it)."""

    champion: Scorer
    champion_id: int | None
    challenger: Scorer | None
    challenger_id: int | None
    canary_share: float


_NOTHING_HELD = _Held(NoModelScorer(), None, None, None, 0.0)


class ActiveModel:
    """The champion's scorer, and the shadow version's with its canary share, as a worker
    holds them: loaded once, checked again at most every ``MODEL_REFRESH_SECONDS`` (one
    query for both), swapped when another version is promoted or put in shadow.

    Each instance is a cache of its own: ``override(scorer=ActiveModel())`` serves the active
    model as a newly started process would.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = _NOTHING_HELD
        self._checked_at = float("-inf")
        # Another version's scorer, for explaining a decision it made (a few are enough).
        self.of_version = functools.lru_cache(maxsize=2)(_scorer_of_version)

    def get(self) -> Scorer:
        """The champion's scorer."""
        return self._current().champion

    def deciding(self, *, scope: str, transaction_id: str) -> Scorer:
        """The scorer that decides this transaction: the challenger's for its canary share of
        transactions (``scoring.canary``), else the champion's. A challenger that does not
        load decides nothing: its share goes to the champion rather than degraded."""
        held = self._current()
        challenger = held.challenger
        if (
            challenger is not None
            and not isinstance(challenger, BrokenModelScorer)
            and decided_by_challenger(
                scope=scope, transaction_id=transaction_id, share=held.canary_share
            )
        ):
            return challenger
        return held.champion

    def held(self) -> tuple[Scorer, Scorer | None]:
        """The champion's scorer and the challenger's, if one is loaded (no refresh)."""
        held = self._held
        return held.champion, held.challenger

    def _current(self) -> _Held:
        if time.monotonic() - self._checked_at >= settings.MODEL_REFRESH_SECONDS:
            self._refresh()
        return self._held

    def _refresh(self) -> None:
        with self._lock:
            serving = {
                version.status: version
                for version in ModelVersion.objects.filter(
                    status__in=(ModelStatus.CHAMPION, ModelStatus.SHADOW)
                ).defer("metrics", "params", "label_coverage")
            }
            self._checked_at = time.monotonic()
            champion, shadow = serving.get(ModelStatus.CHAMPION), serving.get(ModelStatus.SHADOW)
            held = self._held
            self._held = _Held(
                champion=_followed(champion, held.champion, held.champion_id) or NoModelScorer(),
                champion_id=None if champion is None else champion.pk,
                challenger=_challenger(shadow, held),
                challenger_id=None if shadow is None else shadow.pk,
                canary_share=0.0 if shadow is None else shadow.canary_share,
            )


def version_scorer(version: ModelVersion) -> LightGBMScorer:
    """``version``'s scorer, loaded from its file; raises ModelLoadError, or KeyError,
    TypeError or ValueError for a malformed version record."""
    return LightGBMScorer.load(
        version.path,
        version=version.name,
        sha256=version.sha256,
        features=[f["name"] for f in version.features],
        calibration=Calibration(tuple(version.calibration["x"]), tuple(version.calibration["y"])),
        known_features=FEATURE_NAMES,
    )


def _challenger(shadow: ModelVersion | None, held: _Held) -> Scorer | None:
    """The shadow version's scorer: loaded once it decides a share, then kept while it is
    the shadow (a share set back to 0 and up again loads nothing)."""
    if shadow is None:
        return None
    kept = held.challenger if shadow.pk == held.challenger_id else None
    if kept is None and shadow.canary_share <= 0:
        return None
    return _followed(
        shadow, kept, held.challenger_id, consequence="its canary share goes to the champion"
    )


def _followed(
    version: ModelVersion | None,
    scorer: Scorer | None,
    held_id: int | None,
    *,
    consequence: str = "decisions are degraded",
) -> Scorer | None:
    """The scorer for ``version``: the one held if it is that version's and loaded, else
    loaded now. A refused file is tried again at every check: putting the right file back
    heals the worker without a restart (the hash check makes a retry harmless)."""
    if version is None:
        return None
    same = version.pk == held_id and scorer is not None
    if same and not isinstance(scorer, BrokenModelScorer):
        return scorer
    return _load(version, scorer if same else None, consequence=consequence)


def _load(
    version: object,
    previous: Scorer | None = None,
    *,
    consequence: str = "decisions are degraded",
) -> Scorer:
    """The version's scorer, or a BrokenModelScorer saying why not (never raises).

    ``previous`` is the failed attempt at the same version, if any: the same failure is
    logged once, not at every retry.
    """
    assert isinstance(version, ModelVersion)
    try:
        scorer = version_scorer(version)
    except (ModelLoadError, KeyError, TypeError, ValueError) as exc:
        # KeyError...ValueError: a version record whose features or calibration are malformed.
        error = str(exc) if isinstance(exc, ModelLoadError) else f"bad version record: {exc!r}"
        if not (isinstance(previous, BrokenModelScorer) and previous.error == error):
            logger.error("model %s not loaded, %s: %s", version.name, consequence, error)
        return BrokenModelScorer(version.name, error)
    logger.warning("model %s loaded", version.name)
    return scorer


def _scorer_of_version(version: str) -> Scorer:
    record = ModelVersion.objects.filter(name=version).first()
    if record is None:
        return BrokenModelScorer(version, f"model version {version} does not exist")
    return _load(record)


_version_scorers: dict[tuple[int, str], Scorer] = {}
_version_refused: dict[tuple[int, str], BrokenModelScorer] = {}
_version_scorers_lock = threading.Lock()


def version_scorer_kept(version: ModelVersion) -> Scorer:
    """``version``'s scorer, never raising (unlike :func:`version_scorer`): loaded once per
    process and kept while its file is the same (two at most: the shadow worker scores with
    the challenger and the champion). A file that does not load gives a BrokenModelScorer and
    is not kept: the next call tries it again, so putting the right file back heals the worker
    without a restart."""
    key = (version.pk, version.sha256)
    with _version_scorers_lock:
        loaded = _version_scorers.get(key)
        if loaded is not None:
            return loaded
        # The last refusal, so that the same one is logged once, not at every call.
        loaded = _load(version, _version_refused.get(key))
        if isinstance(loaded, BrokenModelScorer):
            _version_refused[key] = loaded
            return loaded
        _version_refused.pop(key, None)
        if len(_version_scorers) >= 2:
            _version_scorers.pop(next(iter(_version_scorers)))
        _version_scorers[key] = loaded
        return loaded


def version_scorers_clear() -> None:
    """Forget the kept scorers (as a new process would start): for tests."""
    with _version_scorers_lock:
        _version_scorers.clear()
        _version_refused.clear()


@dataclass(frozen=True)
class _Serving:
    """What this process serves with. ``store`` None: the process's own; ``scorer`` None: the
    active model, through ``model``."""

    store: OnlineStore | None
    store_outage: Outage
    scorer: Scorer | None
    model: ActiveModel
    # Back-filled transactions' cold values, read from the database (kept per period).
    stored_cold: StoredCold


_serving = _Serving(
    store=None,
    store_outage=_store_outage(),
    scorer=None,
    model=ActiveModel(),
    stored_cold=StoredCold(),
)


@contextmanager
def override(
    *, store: OnlineStore | None = None, scorer: Scorer | ActiveModel | None = None
) -> Iterator[None]:
    """Serve with ``store`` and/or ``scorer`` inside the block; what was there is back on exit.

    For tests and benchmarks, like httpx's mock transport: every thread of the process (a live
    server's too) decides with the given parts, and a part not given stays as it was. A given
    store comes with an outage tracker of its own (an outage of another store does not skip
    it), and with a cache of back-filled cold values of its own. ``scorer`` is a fixed scorer
    (say ``ConstantScorer``) or an ``ActiveModel()``: the promoted model through a cache of its
    own.
    """
    global _serving
    previous = _serving
    fixed, model = previous.scorer, previous.model
    if isinstance(scorer, ActiveModel):
        fixed, model = None, scorer
    elif scorer is not None:
        fixed = scorer
    _serving = _Serving(
        store=previous.store if store is None else store,
        store_outage=previous.store_outage if store is None else _store_outage(),
        scorer=fixed,
        model=model,
        stored_cold=previous.stored_cold if store is None else StoredCold(),
    )
    try:
        yield
    finally:
        _serving = previous


def scorer() -> Scorer:
    """The scorer decisions use now: the one given to ``override()``, else the active model."""
    return _scorer_of(_serving)


def _scorer_of(state: _Serving) -> Scorer:
    return state.model.get() if state.scorer is None else state.scorer


def deciding_scorer(*, scope: str, transaction_id: str) -> Scorer:
    """The scorer that decides this transaction (``scope``: its integrator's id): the shadow
    version's for its canary share of transactions, else the champion's. No query: what
    ``ActiveModel`` holds since its last check. A scorer given to ``override()`` decides
    every transaction."""
    state = _serving
    if state.scorer is not None:
        return state.scorer
    return state.model.deciding(scope=scope, transaction_id=transaction_id)


def scorer_for(version: str | None) -> Scorer:
    """The scorer of a given model version: the champion's or the challenger's this process
    holds, or that version loaded again."""
    state = _serving
    active = _scorer_of(state)
    if version is None or active.version == version:
        return active
    if state.scorer is None:
        _, challenger = state.model.held()
        if challenger is not None and challenger.version == version:
            return challenger
    return state.model.of_version(version)


class ModelHealth(TypedDict):
    """What this process scores with: ``state`` is loaded, degraded (``reason`` says why) or
    none (no model promoted yet)."""

    version: str | None
    state: str
    reason: str | None


def model_health() -> ModelHealth:
    current = scorer()
    if isinstance(current, BrokenModelScorer):
        return ModelHealth(version=current.version, state="degraded", reason=current.error)
    if current.version is None:
        return ModelHealth(version=None, state="none", reason=None)
    return ModelHealth(version=current.version, state="loaded", reason=None)


class ColdFeaturesHealth(TypedDict):
    """Whether a cold-feature generation is published (decisions without one are degraded)."""

    published: bool
    as_of: str | None
    error: str | None


def cold_features_health() -> ColdFeaturesHealth:
    try:
        as_of = feature_store().cold_as_of()
    except FeatureStoreUnavailable as exc:
        return ColdFeaturesHealth(published=False, as_of=None, error=str(exc))
    if as_of is None:
        return ColdFeaturesHealth(published=False, as_of=None, error=None)
    moment = datetime.fromtimestamp(as_of, UTC).isoformat()
    return ColdFeaturesHealth(published=True, as_of=moment, error=None)


def feature_store_health() -> str:
    store = feature_store()
    if isinstance(store, RedisFeatureStore):
        try:
            store.ping()
        except Exception as exc:
            return f"error: {exc}"
    return "ok"
