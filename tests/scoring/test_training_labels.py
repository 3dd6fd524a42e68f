"""Training from the labels integrations really send (chargebacks; the rest legit once mature),
and from the features the decisions logged."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from rules.demo import demo_policy_seed
from scoring.features.definitions import FEATURE_SET_VERSION
from scoring.models import Decision, Integrator, LabelEvent, Transaction
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load
from scoring.training.dataset import Dataset, dataset_build, split_by_time
from scoring.training.train import _fit, data_hash

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, tzinfo=UTC)
LOADED_DAYS = 30
# Labels are known as of this moment: every loaded payment is past the 30-day maturity, and
# most chargebacks have arrived (they take 18 days at the median, a few over 40).
MOMENT = START + timedelta(days=LOADED_DAYS + 40)


def _load(*, seed: int, customers: int) -> dict[str, bool]:
    """A simulated month loaded as the loader does (chargebacks, analysts' verdicts), with the
    chargebacks reported up to MOMENT; transaction id → whether it really was fraud."""
    demo_policy_seed()
    everything = HistorySimulator(seed=seed, customers=customers).generate(
        start=START, days=(MOMENT - START).days
    )
    cut = START + timedelta(days=LOADED_DAYS)
    history = [t for t in everything if t.occurred_at < cut]
    history_load(integrator=Integrator.objects.create(name="simulator"), history=history)
    return {t.payload["transaction_id"]: t.is_fraud for t in history}


def _validation_ap(data: Dataset, truth: np.ndarray) -> float:
    """A model of the product's (one of its sizes), trained on ``data``'s labels in the
    product's split, scored on its validation window against ``truth`` (the rows' outcome)."""
    train, calib, valid = split_by_time(data)
    booster = _fit(train, 100, 15, seed=7)
    start = len(train) + len(calib)
    return float(average_precision_score(truth[start:], booster.predict(valid.x)))


def test_a_model_trained_on_chargebacks_alone_is_within_002_ap_of_one_trained_on_every_label():
    fraud_of = _load(seed=21, customers=80)
    LabelEvent.objects.exclude(source="chargeback").delete()
    chargebacks_only = dataset_build(moment=MOMENT)
    # Every label: the truth for every transaction, reported at once.
    LabelEvent.objects.bulk_create(
        LabelEvent(
            transaction=txn,
            label="fraud" if fraud_of[txn.transaction_id] else "legit",
            source="integrator",
            reported_at=txn.occurred_at,
        )
        for txn in Transaction.objects.all()
    )
    every_label = dataset_build(moment=MOMENT)

    # The same rows in the same order (all mature): the same split, the same ground truth.
    assert np.array_equal(chargebacks_only.transaction_pks, every_label.transaction_pks)
    truth = every_label.y
    by_pk = dict(Transaction.objects.values_list("pk", "transaction_id"))
    assert truth.tolist() == [int(fraud_of[by_pk[pk]]) for pk in every_label.transaction_pks]
    coverage = chargebacks_only.coverage
    assert coverage is not None
    assert coverage.explicit == int(chargebacks_only.y.sum())
    assert coverage.legit_by_maturity == len(truth) - coverage.explicit  # all mature
    missed = int(((truth == 1) & (chargebacks_only.y == 0)).sum())
    assert 0 < missed < truth.sum() * 0.2  # a few chargebacks were still to come
    assert int(truth.sum()) > 300

    ap_every = _validation_ap(every_label, truth)
    ap_chargebacks = _validation_ap(chargebacks_only, truth)
    assert ap_every > 0.3
    print(f"AP every label {ap_every:.4f}, chargebacks only {ap_chargebacks:.4f}")
    assert abs(ap_every - ap_chargebacks) <= 0.02, (ap_every, ap_chargebacks)


def test_training_reads_the_logged_features_exactly_as_a_replay_recomputes_them():
    _load(seed=5, customers=20)
    logged = dataset_build(moment=MOMENT)
    replayed = dataset_build(moment=MOMENT, replay_older_than=FEATURE_SET_VERSION + 1)

    assert logged.replayed == 0
    assert replayed.replayed == len(replayed) > 500
    assert logged.x.dtype == np.float32
    assert logged.x.tobytes() == replayed.x.tobytes()
    assert data_hash(logged) == data_hash(replayed)
    assert np.array_equal(logged.rules_flagged, replayed.rules_flagged)


def test_a_decision_logged_with_an_older_feature_set_is_recomputed_through_decide():
    _load(seed=5, customers=20)
    current = dataset_build(moment=MOMENT)
    pks = list(Decision.objects.order_by("transaction__occurred_at").values_list("pk", flat=True))
    stale = pks[len(pks) // 2]
    Decision.objects.filter(pk=stale).update(
        feature_set_version=FEATURE_SET_VERSION - 1, features={}
    )

    again = dataset_build(moment=MOMENT)

    assert again.replayed == 1
    assert data_hash(again) == data_hash(current)
