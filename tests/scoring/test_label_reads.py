"""Labels as of a moment: explicit labels by precedence, else legit once mature, else unknown."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scoring.label_reads import (
    FRAUD,
    LEGIT,
    UNKNOWN,
    LabelFact,
    LabelledTransaction,
    label_as_of,
    label_columns,
    labels_as_of,
    transaction_label_as_of,
)
from scoring.models import Integrator, LabelEvent, Transaction

OCCURRED = datetime(2026, 3, 2, 12, tzinfo=UTC)
MATURITY = timedelta(days=30)


def day(n: float) -> datetime:
    return OCCURRED + timedelta(days=n)


def txn(*facts: tuple[str, str, float], maturity: timedelta = MATURITY) -> LabelledTransaction:
    return LabelledTransaction(
        OCCURRED, maturity, tuple(LabelFact(label, source, day(at)) for label, source, at in facts)
    )


def test_a_chargeback_outranks_an_analysts_verdict_reported_later():
    t = txn(("fraud", "chargeback", 20), ("legit", "analyst", 25))
    assert label_as_of(t, day(40)) == "fraud"


def test_an_analysts_verdict_outranks_an_integrators_later_report():
    t = txn(("legit", "analyst", 2), ("fraud", "integrator", 5))
    assert label_as_of(t, day(10)) == "legit"


def test_within_a_rank_the_latest_report_wins():
    t = txn(("fraud", "integrator", 2), ("legit", "integrator", 5))
    assert label_as_of(t, day(4)) == "fraud"
    assert label_as_of(t, day(6)) == "legit"


def test_a_label_reported_after_the_moment_is_not_counted():
    t = txn(("fraud", "chargeback", 20))
    assert label_as_of(t, day(19)) is None
    assert label_as_of(t, day(20)) == "fraud"  # reported_at <= moment counts


def test_a_payment_with_no_fraud_label_is_legit_once_its_maturity_has_passed():
    t = txn()
    assert label_as_of(t, day(29.9)) is None
    assert label_as_of(t, day(30)) == "legit"


def test_a_chargeback_after_maturity_turns_a_matured_payment_into_fraud():
    t = txn(("fraud", "chargeback", 45))
    assert label_as_of(t, day(40)) == "legit"
    assert label_as_of(t, day(45)) == "fraud"


def test_an_explicit_legit_label_counts_before_maturity():
    assert label_as_of(txn(("legit", "analyst", 1)), day(2)) == "legit"


def test_the_maturity_is_the_transactions_own():
    assert label_as_of(txn(maturity=timedelta(days=7)), day(8)) == "legit"
    assert label_as_of(txn(maturity=timedelta(days=60)), day(45)) is None


# -- the reads, on the database --------------------------------------------------------------


def _stored(integrator: Integrator, ref: str, occurred_at: datetime) -> Transaction:
    return Transaction.objects.create(
        integrator=integrator, transaction_id=ref, occurred_at=occurred_at, amount="10.00",
        currency="EUR", customer_id="c", merchant_id="m", channel="ecom", request_hash="h",
    )  # fmt: skip


@pytest.mark.django_db
def test_each_integrator_may_have_its_own_maturity(settings):
    settings.LABEL_MATURITY_DAYS = 30
    quick = Integrator.objects.create(name="quick", label_maturity_days=7)
    default = Integrator.objects.create(name="default")
    a = _stored(quick, "a", OCCURRED)
    b = _stored(default, "b", OCCURRED)
    moment = day(10)

    assert transaction_label_as_of(a, moment) == "legit"
    assert transaction_label_as_of(b, moment) is None
    assert labels_as_of(transactions=Transaction.objects.all(), moment=moment) == {a.pk: "legit"}


@pytest.mark.django_db
def test_the_bulk_reads_agree_with_the_rule_for_every_transaction(settings):
    """The queryset form and training's columns give label_as_of's answer, row by row."""
    settings.LABEL_MATURITY_DAYS = 30
    integrator = Integrator.objects.create(name="i")
    cases = {
        "cb-late": (0, [("fraud", "chargeback", 45)]),
        "cb-then-analyst-legit": (0, [("fraud", "chargeback", 10), ("legit", "analyst", 12)]),
        "analyst-over-integrator": (20, [("legit", "analyst", 21), ("fraud", "integrator", 22)]),
        "young": (20, []),
        "old": (0, []),
        "reported-after-moment": (20, [("fraud", "chargeback", 60)]),
    }
    rows = {}
    for ref, (occurred, facts) in cases.items():
        stored = _stored(integrator, ref, day(occurred))
        for label, source, at in facts:
            LabelEvent.objects.create(
                transaction=stored, label=label, source=source, reported_at=day(at)
            )
        rows[ref] = stored
    moment = day(40)

    expected = {ref: transaction_label_as_of(t, moment) for ref, t in rows.items()}
    assert expected == {
        "cb-late": "legit",
        "cb-then-analyst-legit": "fraud",
        "analyst-over-integrator": "legit",
        "young": None,
        "old": "legit",
        "reported-after-moment": None,
    }
    bulk = labels_as_of(transactions=Transaction.objects.all(), moment=moment)
    assert bulk == {t.pk: expected[ref] for ref, t in rows.items() if expected[ref]}

    ordered = list(rows.values())[::-1]  # any order of rows
    columns = label_columns(
        pks=np.array([t.pk for t in ordered]),
        occurred_ts=np.array([t.occurred_at.timestamp() for t in ordered]),
        integrator_ids=np.array([integrator.pk] * len(ordered)),
        moment=moment,
    )
    code = {"fraud": FRAUD, "legit": LEGIT, None: UNKNOWN}
    assert columns.y.tolist() == [code[expected[t.transaction_id]] for t in ordered]
    assert columns.explicit.tolist() == [
        t.transaction_id in {"cb-then-analyst-legit", "analyst-over-integrator"} for t in ordered
    ]
    assert columns.mature.tolist() == [
        t.occurred_at <= moment - timedelta(days=30) for t in ordered
    ]
    delays = dict(zip([t.transaction_id for t in ordered], columns.fraud_delay_s, strict=True))
    assert delays["cb-then-analyst-legit"] == 10 * 86400
