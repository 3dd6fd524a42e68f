"""Backtesting a draft: the published policy and the draft applied on it re-decide the same
stored decisions, so what differs is the draft alone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rules import draft_changes, drafts, services
from rules.models import BacktestStatus, PolicyBacktest, Rule
from scoring.backtest import decisions_backtest, window_decisions
from scoring.labels import label_add
from scoring.models import Decision, Transaction
from scoring.scorer import ConstantScorer
from tests import factories

pytestmark = pytest.mark.django_db

AMOUNTS = ("10.00", "12.00", "14.00", "700.00", "800.00", "900.00")
# Labels known now: fraud on two large and one small, legit on one large and one small;
# 14.00 is too recent to tell (unlabelled).
LABELS = {"700.00": "fraud", "800.00": "fraud", "12.00": "fraud", "10.00": "legit",
          "900.00": "legit"}  # fmt: skip


@pytest.fixture
def author():
    return factories.user("ada", "admin")


@pytest.fixture
def history(api, settings):
    """Six decisions made now (no model: rules alone), then labelled."""
    settings.RULESET_REFRESH_SECONDS = 0
    ids = {}
    for amount in AMOUNTS:
        response = api.post("/api/v1/decisions", factories.payload(amount=amount), format="json")
        assert response.status_code == 201, response.content
        ids[amount] = response.json()["transaction_id"]
    for amount, label in LABELS.items():
        txn = Transaction.objects.get(transaction_id=ids[amount])
        label_add(transaction=txn, label=label, source="chargeback")
    return ids


def backtest(changes):
    until = timezone.now() + timedelta(seconds=1)
    since = until - timedelta(days=1)
    return decisions_backtest(
        changes=changes,
        decisions=window_decisions(since=since, until=until),
        since=since,
        until=until,
    )


def proposing(**kinds):
    return draft_changes.changes_from(kinds)


def rule(name, expression, action="review"):
    return draft_changes.RuleChange(
        name=name,
        expression=expression,
        action=action,
        description="",
        mode="live",
        rollout_percent=None,
    )


def scored_by_amount():
    """As if a model had scored them: score = amount / 1000."""
    for decision in Decision.objects.select_related("transaction"):
        decision.score = float(decision.transaction.amount) / 1000
        decision.save(update_fields=["score"])


def test_a_draft_rule_is_backtested_on_the_recorded_decisions(history):
    result = backtest(proposing(rules=[rule("big", "amount > 500")]))

    assert result.decisions == 6
    assert result.changes == {"approve→review": 3}
    assert result.after.hits == {"big": 3}
    assert result.before.hits == {}
    c = result.after.confusion
    assert (c.tp, c.fp, c.fn, c.tn, c.unlabelled) == (2, 1, 1, 1, 1)
    assert result.before.confusion.tp == 0
    assert result.after.fraud_caught == {"EUR": 1500.0}
    assert result.after.cases == 3
    assert result.reviews_per_day(result.after) == pytest.approx(3.0)
    assert not Rule.objects.exists()  # nothing saved


def test_a_backtest_decides_on_the_recorded_features_not_the_store(history):
    # Each decision recorded the velocity it saw: 0 to 5 earlier card transactions.
    result = backtest(proposing(rules=[rule("burst", "card_txn_count_1m >= 4", "decline")]))

    assert result.changes == {"approve→decline": 2}


def test_editing_a_rule_is_backtested_in_place_of_the_published_one(history):
    factories.rule("big", "amount > 500", "review")

    result = backtest(proposing(rules=[rule("big", "amount > 850")]))

    # The published rule (> 500) is replaced: only the 900.00 one changes, back to approve.
    assert result.changes == {"review→approve": 2}
    assert result.before.hits == {"big": 3}
    assert result.after.hits == {"big": 1}


def test_thresholds_are_backtested_on_the_recorded_scores(history):
    scored_by_amount()

    result = backtest(proposing(thresholds={"review_at": 0.75, "decline_at": 0.85}))

    # Published (0.5 / 0.9): 700 and 800 review, 900 declines. Draft: 700 approves.
    assert result.changes == {"review→approve": 1}
    assert result.before.outcomes == {"approve": 3, "review": 2, "decline": 1}
    assert result.after.outcomes == {"approve": 4, "review": 1, "decline": 1}


def test_an_unchanged_rule_after_a_threshold_change_and_revert_shows_zero_changed_outcomes(
    api, serve_with, settings
):
    settings.RULESET_REFRESH_SECONDS = 0
    serve_with(scorer=ConstantScorer(0.6))
    factories.rule("big", "amount > 500", "review")

    def decide(amount, card="card-tok-1"):
        body = factories.payload(amount=amount, card_id=card)
        assert api.post("/api/v1/decisions", body, format="json").status_code == 201

    decide("20.00")
    services.thresholds_set(review_at=0.7, decline_at=0.9)  # a score of 0.6 now approves
    decide("30.00")
    decide("40.00")
    services.thresholds_set(review_at=0.5, decline_at=0.9)  # and reverted
    decide("50.00", card="card-old")
    services.list_entry_create(list_type="block", entity="card", value="card-old")  # since
    decide("600.00")

    result = backtest(proposing(rules=[rule("big", "amount > 500")]))  # the rule as it is

    assert result.decisions == 5
    assert result.changes == {}
    assert result.changed == 0
    # What changed since (the two decided under the edited thresholds, the card blocked
    # after its decision) differs from the stored outcomes: a comparison with those would
    # have blamed the rule for it.
    assert result.stored_differs == 3
    assert result.before.outcomes == result.after.outcomes == {"review": 4, "decline": 1}


def test_a_drafts_confusion_matrix_equals_a_direct_computation(history):
    scored_by_amount()
    draft = proposing(
        rules=[rule("tiny", "amount < 11")],
        thresholds={"review_at": 0.75, "decline_at": 0.85},
    )

    result = backtest(draft)

    def outcome(amount, review_at, decline_at, tiny_rule):
        score = float(amount) / 1000
        if score >= decline_at:
            return "decline"
        if score >= review_at or (tiny_rule and float(amount) < 11):
            return "review"
        return "approve"

    def confusion(review_at, decline_at, tiny_rule):
        cells = {"tp": 0, "fp": 0, "fn": 0, "tn": 0, "unlabelled": 0}
        for amount in AMOUNTS:
            flagged = outcome(amount, review_at, decline_at, tiny_rule) != "approve"
            label = LABELS.get(amount)
            if label is None:
                cells["unlabelled"] += 1
            elif label == "fraud":
                cells["tp" if flagged else "fn"] += 1
            else:
                cells["fp" if flagged else "tn"] += 1
        return cells

    after, before = confusion(0.75, 0.85, True), confusion(0.5, 0.9, False)
    got = result.after.confusion
    assert {k: getattr(got, k) for k in after} == after
    assert {k: getattr(result.before.confusion, k) for k in before} == before
    assert got.precision == pytest.approx(after["tp"] / (after["tp"] + after["fp"]))
    assert got.recall == pytest.approx(after["tp"] / (after["tp"] + after["fn"]))
    assert after != before  # the draft does move the matrix


def test_a_backtest_runs_as_a_task_stores_its_result_and_the_page_shows_it(
    api, author, eager, settings, django_capture_on_commit_callbacks
):
    from django.test import Client

    settings.RULESET_REFRESH_SECONDS = 0
    author.is_staff = True
    author.save(update_fields=["is_staff"])
    factories.review_everything()
    cases = [factories.case_via_api(api, amount=amount) for amount in ("10.00", "20.00")]
    draft = drafts.draft_rule_remove_propose(user=author, name="review_all")
    client = Client(SERVER_NAME="localhost")
    client.force_login(author)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/rules/policydraft/{draft.pk}/backtest/", {"days": 7})

    assert response.status_code == 302
    stored = PolicyBacktest.objects.get(draft=draft)
    assert (stored.status, stored.progress) == (BacktestStatus.DONE, 1.0)
    assert stored.content_hash == drafts.draft_content_hash(draft)
    assert stored.result["changes"] == {"review→approve": 2}
    assert stored.result["before"]["hits"] == {"review_all": 2}
    assert {s["case_id"] for s in stored.result["samples"]} == {case.pk for case in cases}
    status = client.get(f"/admin/rules/policydraft/backtests/{stored.pk}/status").json()
    assert status == {"status": "done", "progress": 1.0, "error": ""}
    page = client.get(f"/admin/rules/policydraft/{draft.pk}/change/")
    assert page.status_code == 200
    assert '<span id="backtest-changed">2</span>' in page.text
    assert f'href="/cases/{cases[0].pk}/"' in page.text
    assert drafts.draft_backtested(draft)


def test_a_backtest_form_out_of_range_is_a_form_error_and_queues_nothing(author):
    from django.test import Client

    author.is_staff = True
    author.save(update_fields=["is_staff"])
    draft = drafts.draft_thresholds_propose(user=author, review_at=0.4, decline_at=0.8)
    client = Client(SERVER_NAME="localhost")
    client.force_login(author)

    response = client.post(f"/admin/rules/policydraft/{draft.pk}/backtest/", {"days": "0"})

    assert response.status_code == 400
    assert "days" in response.context["backtest_form"].errors
    assert not PolicyBacktest.objects.exists()


def test_a_backtest_over_the_cap_reads_the_newest_decisions_and_says_so(history, settings):
    settings.BACKTEST_MAX_DECISIONS = 4
    capped = backtest(proposing(rules=[rule("big", "amount > 500")]))
    settings.BACKTEST_MAX_DECISIONS = 6
    whole = backtest(proposing(rules=[rule("big", "amount > 500")]))
    assert (capped.decisions, capped.capped) == (4, True)
    assert (whole.decisions, whole.capped) == (6, False)
    # The newest four are the last four made: 14.00 (unlabelled), 700, 800 (fraud), 900 (legit).
    assert capped.before.confusion.unlabelled == 1
    assert capped.after.confusion.tp == 2
