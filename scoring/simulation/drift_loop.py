"""Drift closes the loop, measured (issue 12, "done when" 2), and shown (``make demo``): a
simulated history whose fraud changes pattern at a fixed date, a champion trained before it,
the drift check after it, and a challenger retrained on the window that holds it, both
measured on its post-drift holdout, the challenger left in shadow.

A :class:`Timeline` places the steps, in days from its start:

- 0 .. champion: history decided by rules alone; at ``champion`` the champion is trained on
  what has matured (LABEL_MATURITY_DAYS) and promoted;
- champion .. : decided with the champion scoring; at ``drift`` the drift pattern starts
  (``Patterns.gift_card_burst``);
- check: the drift check (the last day against the champion's reference weeks);
- retrain: the retrain (``retraining.model_retrain``) on the last ``window_days``, whose
  validation window (its latest 15%) lies after the drift.

``DRIFT_LOOP`` (fixed dates, whatever day it runs) is what the bench and test measure;
:func:`demo_timeline` ends at the demo's start, with the drift before the champion's
labels mature, so the first run of ``make demo`` ends with a challenger in shadow.

It writes to the database it runs on (use an empty one: ``bench/drift_loop.py`` makes one).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from rules.demo import demo_policy_seed
from rules.models import Rule
from scoring import lifecycle, serving
from scoring.drift import drift_check
from scoring.models import DriftReport, Integrator, ModelVersion
from scoring.retraining import model_retrain
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load
from scoring.training.train import model_train


@dataclass(frozen=True)
class Timeline:
    start: datetime
    champion: float
    drift: float
    check: float
    retrain: float
    window_days: int | None = None  # None: RETRAIN_WINDOW_DAYS

    def day(self, n: float) -> datetime:
        return self.start + timedelta(days=n)


DRIFT_LOOP = Timeline(
    start=datetime(2026, 1, 5, tzinfo=UTC), champion=40, drift=47, check=49, retrain=95,
    window_days=60,
)  # fmt: skip
# The demo's history: DEMO_DAYS ending now; the champion is trained on the days before the
# drift (at 42 the labels of days 0..12 have matured), the challenger now on days 0..20.
DEMO_DAYS = 50
DRIFT_DAY = 12


def demo_timeline(end: datetime) -> Timeline:
    return Timeline(
        start=end - timedelta(days=DEMO_DAYS), champion=42, drift=DRIFT_DAY, check=DEMO_DAYS,
        retrain=DEMO_DAYS,
    )  # fmt: skip


@dataclass(frozen=True)
class DriftLoop:
    transactions: int
    champion: ModelVersion
    report: DriftReport
    challenger: ModelVersion

    @property
    def challenger_ap(self) -> float | None:
        value: float | None = self.challenger.metrics.get("average_precision")
        return value

    @property
    def champion_ap(self) -> float | None:
        value: float | None = self.challenger.metrics["champion_on_holdout"].get(
            "average_precision"
        )
        return value


def drift_loop_run(
    *,
    seed: int = 7,
    customers: int = 100,
    timeline: Timeline = DRIFT_LOOP,
    say: Callable[[str], None] = lambda _: None,
) -> DriftLoop:
    day = timeline.day
    if not Rule.objects.exists():
        demo_policy_seed()
    integrator, _ = Integrator.objects.get_or_create(name="simulator")
    simulator = HistorySimulator(seed=seed, customers=customers, drift_at=day(timeline.drift))
    history = simulator.generate(start=timeline.start, days=int(timeline.retrain))
    before = [t for t in history if t.occurred_at < day(timeline.champion)]
    after = [t for t in history if t.occurred_at >= day(timeline.champion)]
    say(
        f"{len(history)} transactions of {customers} customers (seed {seed}); "
        f"drift at {day(timeline.drift):%Y-%m-%d}"
    )
    history_load(integrator=integrator, history=before)
    champion = model_train(seed=seed, now=day(timeline.champion)).version
    lifecycle.model_promote(version=champion, actor=None, reason="drift loop: the stale champion")
    _serving_switched_to(champion)
    say(
        f"champion {champion.name}: trained until {champion.trained_until:%Y-%m-%d}, "
        f"AP {champion.metrics.get('average_precision')}"
    )
    history_load(integrator=integrator, history=after)
    report = drift_check(now=day(timeline.check))
    say(
        f"drift check at {day(timeline.check):%Y-%m-%d}: shifted {len(report.shifted)} "
        f"features; alerts {report.alerts}"
    )
    reason = f"early: drift in {', '.join(report.alerts)}" if report.alerts else "scheduled"
    retrained = model_retrain(
        now=day(timeline.retrain), reason=reason, window_days=timeline.window_days, seed=seed
    )
    return DriftLoop(len(history), champion, report, retrained.challenger)


def _serving_switched_to(version: ModelVersion) -> None:
    """Wait until this process serves ``version`` (it checks every MODEL_REFRESH_SECONDS), so
    the history after the promotion is scored by it."""
    deadline = time.monotonic() + 2 * settings.MODEL_REFRESH_SECONDS + 1
    while serving.scorer().version != version.name:
        if time.monotonic() > deadline:
            raise RuntimeError(f"serving did not switch to {version.name}")
        time.sleep(0.2)


def challenger_decide(*, challenger: ModelVersion, shadowed: int) -> str:
    """What a lead does once the challenger has scored live decisions in shadow (the demo
    does it for them): promote it if it beat the champion on its post-drift holdout, else
    reject it; either way with the figures as the reason (audit-logged). The sentence said."""
    ours = challenger.metrics.get("average_precision")
    theirs = challenger.metrics.get("champion_on_holdout", {}).get("average_precision")
    if ours is None or theirs is None:
        return f"{challenger.name} stays in shadow: its holdout has no comparable figures"
    why = (
        f"AP {ours:.3f} against the champion's {theirs:.3f} on the post-drift holdout; "
        f"{shadowed} live decisions scored in shadow"
    )
    if ours > theirs:
        lifecycle.model_promote(version=challenger, actor=None, reason=f"demo: {why}")
        return f"promoted {challenger.name}: {why}"
    lifecycle.model_reject(version=challenger, actor=None, reason=f"demo: {why}")
    return f"rejected {challenger.name}: {why}"
