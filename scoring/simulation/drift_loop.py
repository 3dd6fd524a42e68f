"""Drift closes the loop, measured (issue 12, "done when" 2): a simulated history whose fraud
changes pattern at a fixed date, a champion trained before it, the drift check after it, and a
challenger retrained on the window that holds it, both measured on its post-drift holdout.

The timeline, in days from START (fixed dates, whatever day it runs):

- 0 .. CHAMPION_AT: history decided by rules alone; at CHAMPION_AT the champion is trained
  on what has matured (LABEL_MATURITY_DAYS) and promoted;
- CHAMPION_AT .. : decided with the champion scoring; at DRIFT_AT the drift pattern starts
  (``Patterns.gift_card_burst``);
- CHECK_AT: the drift check (the last day against the champion's reference weeks);
- RETRAIN_AT: the retrain (``retraining.model_retrain``) on the last WINDOW_DAYS, whose
  validation window (its latest 15%) lies after the drift.

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
from scoring import promotion, serving
from scoring.drift import drift_check
from scoring.models import DriftReport, Integrator, ModelVersion
from scoring.retraining import model_retrain
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load
from scoring.training.train import model_train

START = datetime(2026, 1, 5, tzinfo=UTC)
CHAMPION_AT = 40
DRIFT_AT = 47
CHECK_AT = 49
RETRAIN_AT = 95
WINDOW_DAYS = 60


def day(n: float) -> datetime:
    return START + timedelta(days=n)


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
    *, seed: int = 7, customers: int = 100, say: Callable[[str], None] = lambda _: None
) -> DriftLoop:
    if not Rule.objects.exists():
        demo_policy_seed()
    integrator, _ = Integrator.objects.get_or_create(name="simulator")
    simulator = HistorySimulator(seed=seed, customers=customers, drift_at=day(DRIFT_AT))
    history = simulator.generate(start=START, days=RETRAIN_AT)
    before = [t for t in history if t.occurred_at < day(CHAMPION_AT)]
    after = [t for t in history if t.occurred_at >= day(CHAMPION_AT)]
    say(
        f"{len(history)} transactions of {customers} customers (seed {seed}); "
        f"drift at {day(DRIFT_AT):%Y-%m-%d}"
    )
    history_load(integrator=integrator, history=before)
    champion = model_train(seed=seed, now=day(CHAMPION_AT)).version
    promotion.model_promote(version=champion)
    _serving_switched_to(champion)
    say(
        f"champion {champion.name}: trained until {champion.trained_until:%Y-%m-%d}, "
        f"AP {champion.metrics.get('average_precision')}"
    )
    history_load(integrator=integrator, history=after)
    report = drift_check(now=day(CHECK_AT))
    say(
        f"drift check at {day(CHECK_AT):%Y-%m-%d}: shifted {report.shifted}; alerts {report.alerts}"
    )
    retrained = model_retrain(
        now=day(RETRAIN_AT), reason="drift", window_days=WINDOW_DAYS, seed=seed
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
