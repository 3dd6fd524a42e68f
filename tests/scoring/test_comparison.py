"""Champion against challenger on the decisions both scored: the pairs, their labels, the
figures, and who may see the page."""

from datetime import timedelta

import pytest
from django.test import Client

from scoring.comparison import comparison_build
from scoring.lifecycle import model_promote, model_reject
from scoring.shadow_reads import shadow_pairs
from tests import factories
from tests.scoring.compare_seed import (
    SHADOW_DAY,
    champion_and_challenger,
    labelled_window,
    model,
    shadowed,
)

pytestmark = pytest.mark.django_db

# Labels as of this moment: a week after the window (explicit labels known, no maturity yet).
WEEK_LATER = SHADOW_DAY + timedelta(days=7)
MATURE = SHADOW_DAY + timedelta(days=40)


@pytest.fixture
def models():
    return champion_and_challenger()


@pytest.fixture
def four_decisions(models):
    """The champion decided three (one degraded, left out), the challenger one as a canary."""
    champion, challenger = models
    old = model("lgbm-old", "retired")
    shadowed(decided_by=champion, scored_by=challenger, decided_score=0.95, shadow_score=0.3,
             label="fraud")  # fmt: skip
    shadowed(decided_by=champion, scored_by=challenger, decided_score=0.2, shadow_score=0.2,
             label="legit", at=SHADOW_DAY + timedelta(minutes=1))  # fmt: skip
    shadowed(decided_by=challenger, scored_by=champion, decided_score=0.7, shadow_score=0.1,
             label="fraud", at=SHADOW_DAY + timedelta(minutes=2))  # fmt: skip
    shadowed(decided_by=champion, scored_by=challenger, decided_score=0.1, shadow_score=0.1,
             at=SHADOW_DAY + timedelta(days=3))  # fmt: skip
    shadowed(decided_by=champion, scored_by=challenger, decided_score=None, shadow_score=0.9)
    shadowed(decided_by=champion, scored_by=old, decided_score=0.4, shadow_score=0.4)
    return models


def test_each_decision_pairs_the_champions_score_with_the_challengers(four_decisions):
    champion, challenger = four_decisions

    pairs = shadow_pairs(champion=champion, challenger=challenger, moment=WEEK_LATER)

    assert [(p.champion_score, p.challenger_score) for p in pairs] == [
        (0.95, 0.3), (0.2, 0.2), (0.1, 0.7), (0.1, 0.1),  # the canary's pair swapped back
    ]  # fmt: skip
    assert [p.label for p in pairs] == ["fraud", "legit", "fraud", None]
    assert [p.changed for p in pairs] == [True, False, True, False]
    assert pairs[2].champion_outcome == "approve"
    assert pairs[2].challenger_outcome == "review"


def test_the_comparison_measures_both_models_on_the_labelled_pairs(four_decisions):
    comparison = comparison_build(moment=WEEK_LATER)

    assert comparison.empty is None
    assert (comparison.pairs, comparison.labelled, comparison.fraud) == (4, 3, 2)
    assert comparison.review_rate == pytest.approx(1 / 3)  # the champion declined one of three
    champion, challenger = comparison.champion_measures, comparison.challenger_measures
    assert champion is not None
    assert challenger is not None
    # champion: fraud 0.95 and 0.1 around a legit 0.2; challenger: fraud 0.7, 0.3 over 0.2
    assert champion.average_precision == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert champion.roc_auc == pytest.approx(0.5)
    assert challenger.average_precision == pytest.approx(1.0)
    assert challenger.roc_auc == pytest.approx(1.0)
    assert champion.precision_at_decline == 1.0  # its one score ≥ 0.9 was fraud
    assert challenger.precision_at_decline is None  # it declined none
    # newest first: the canary's decision, then the first one
    assert [(p.champion_score, p.challenger_score) for p in comparison.changed] == [
        (0.1, 0.7), (0.95, 0.3),
    ]  # fmt: skip
    assert comparison.changed_total == 2


def test_labels_are_read_as_of_the_moment_maturity_included(four_decisions):
    assert comparison_build(moment=MATURE).labelled == 4  # the unlabelled one is legit by now


def test_with_nothing_to_compare_the_comparison_says_why(models):
    champion, challenger = models
    assert "has not scored a live decision yet" in str(comparison_build(moment=WEEK_LATER).empty)

    shadowed(decided_by=champion, scored_by=challenger, decided_score=0.3, shadow_score=0.6)
    unlabelled = comparison_build(moment=WEEK_LATER)
    assert "None of the 1 decisions scored in shadow has a label yet" in str(unlabelled.empty)
    assert unlabelled.changed_total == 1  # listed even before labels come
    assert unlabelled.champion_challenged == 0.0  # the champion approved it (score 0.3)

    challenger.status = "rejected"
    challenger.save()
    assert "No challenger is in shadow" in str(comparison_build(moment=WEEK_LATER).empty)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["manager", "lead", "admin"])
def test_managers_leads_and_admins_see_the_comparison_with_its_figures(models, role):
    labelled_window(*models)

    response = browser(factories.user("mia", role)).get("/models/compare")

    assert response.status_code == 200
    page = response.content.decode()
    assert "lgbm-champion" in page
    assert "lgbm-challenger" in page
    for i in (1, 2, 3):
        assert f'id="compare-figure-{i}"' in page
    assert 'id="compare-changed"' in page
    assert "/cases/" in page  # a changed decision with a case links to it


def test_analysts_and_people_without_a_role_are_refused(models):
    for person in (factories.user("alice", "analyst"), factories.user("oscar")):
        assert browser(person).get("/models/compare").status_code == 403
    assert Client().get("/models/compare").status_code == 302  # to the login page


def test_the_page_says_why_it_has_no_figures(models):
    response = browser(factories.user("mia", "manager")).get("/models/compare")

    assert response.status_code == 200
    assert "has not scored a live decision yet" in response.content.decode()
    assert "compare-figure-1" not in response.content.decode()


def test_after_a_shadow_ends_the_page_says_how_and_why(models):
    _, challenger = models
    lead = factories.user("lena", "lead")

    model_reject(version=challenger, actor=lead, reason="AP 0.61 against the champion's 0.74")

    empty = str(comparison_build(moment=WEEK_LATER).empty)
    assert empty.startswith("No challenger is in shadow")
    assert f"Last change: lena rejected {challenger.name} on " in empty
    assert empty.endswith("AP 0.61 against the champion's 0.74")


def test_after_a_promotion_the_page_shows_the_window_it_was_promoted_on_in_hindsight(models):
    champion, challenger = models
    champion.promoted_at = SHADOW_DAY - timedelta(days=30)
    champion.save()
    challenger.sha256 = "a" * 64  # a file that loads: promotable
    challenger.save()
    labelled_window(champion, challenger)
    before = comparison_build(moment=MATURE)

    model_promote(version=challenger, actor=factories.user("lena", "lead"), reason="AP up")
    after = comparison_build(moment=MATURE)

    assert after.past
    assert after.empty is None
    # The same window and the same models in the same roles: the retired one as champion then.
    assert after.champion == champion
    assert after.challenger == challenger
    assert (after.pairs, after.labelled, after.fraud) == (before.pairs, before.labelled, 6)
    assert after.challenger_measures == before.challenger_measures
    assert after.note.startswith("No challenger is in shadow now. Shown: the last shadow window")
    assert "Last change: lena promoted lgbm-challenger on " in after.note
    manager = factories.user("mia", "manager")
    manager.is_staff = True
    manager.save()
    page = browser(manager).get("/models/compare").content.decode()
    assert "champion then (retired now)" in page
    assert f"/admin/scoring/modelversion/{challenger.pk}/change/" in page  # staff: to its page
    assert 'id="compare-figure-1"' in page
    assert 'id="compare-few-labels"' in page  # six frauds: a small sample, said so


def test_a_first_champion_with_no_predecessor_has_nothing_to_show(models):
    _, challenger = models
    model_reject(version=challenger, actor=factories.user("lena", "lead"), reason="worse")

    comparison = comparison_build(moment=MATURE)

    assert not comparison.past
    assert str(comparison.empty).startswith("No challenger is in shadow")
