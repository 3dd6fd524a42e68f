"""train_model on PostgreSQL: a validation window it cannot measure is recorded as such, the
model is not promoted, and no file is left without a registered version."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from rules.demo import demo_policy_seed
from scoring.models import Integrator, LabelEvent, ModelStatus, ModelVersion
from scoring.simulation.history import HistorySimulator
from scoring.simulation.load import history_load

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 1, tzinfo=UTC)
DAYS = 40


def _history_without_fraud_in_the_validation_window() -> None:
    """A simulated history in which every chargeback of the latest 15% of labelled
    transactions (train_model's validation window) was reversed to legitimate."""
    demo_policy_seed()
    history = HistorySimulator(seed=3, customers=60).generate(start=START, days=DAYS)
    history_load(integrator=Integrator.objects.create(name="simulator"), history=history)
    labelled = list(
        LabelEvent.objects.order_by("transaction__occurred_at", "transaction_id")
        .values_list("transaction_id", flat=True)
        .distinct()
    )
    validation = labelled[int(len(labelled) * 0.85) :]
    assert LabelEvent.objects.filter(label="fraud", transaction_id__in=validation).exists()
    LabelEvent.objects.filter(transaction_id__in=validation).update(label="legit")


def test_no_fraud_in_the_validation_window_records_metrics_as_not_computable_and_does_not_promote(
    postgres, settings, tmp_path
):
    settings.MODEL_DIR = str(tmp_path / "models")
    _history_without_fraud_in_the_validation_window()
    out = io.StringIO()

    with pytest.raises(CommandError, match="not promoted: its metrics are not computable"):
        call_command("train_model", promote=True, stdout=out)

    version = ModelVersion.objects.get()
    assert version.status == ModelStatus.CANDIDATE
    assert version.metrics["fraud"] == 0
    assert version.metrics["auc_roc"] is None
    assert version.metrics["not_computable"]["auc_roc"] == "the validation window has no fraud"
    assert "auc_roc: not computable, the validation window has no fraud" in out.getvalue()
    files = list((tmp_path / "models").iterdir())
    assert [str(f) for f in files] == [version.path]


def test_training_as_of_a_past_moment_uses_only_what_was_known_then(postgres, settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path / "models")
    demo_policy_seed()
    history = HistorySimulator(seed=3, customers=60).generate(start=START, days=DAYS + 30)
    history_load(integrator=Integrator.objects.create(name="simulator"), history=history)
    as_of = datetime(2026, 7, 1, tzinfo=UTC)

    call_command("train_model", "--as-of", as_of.isoformat(), stdout=io.StringIO())

    version = ModelVersion.objects.get()
    # Mature by then: occurred at least LABEL_MATURITY_DAYS (30) before the moment.
    assert version.trained_until <= datetime(2026, 6, 1, tzinfo=UTC)
    known_then = LabelEvent.objects.filter(reported_at__lte=as_of, label="fraud")
    mature_then = known_then.filter(transaction__occurred_at__lte=datetime(2026, 6, 1, tzinfo=UTC))
    assert version.label_coverage["fraud"] == mature_then.values("transaction").distinct().count()


@pytest.mark.parametrize("moment", ["2026-07-01", "yesterday", "2999-01-01T00:00:00+00:00"])
def test_training_as_of_a_moment_without_a_time_zone_or_in_the_future_is_refused(moment):
    with pytest.raises(CommandError, match="--as-of"):
        call_command("train_model", "--as-of", moment, stdout=io.StringIO())
    assert not ModelVersion.objects.exists()
