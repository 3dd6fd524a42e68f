"""The workbench's services: cases open with review decisions, claims, leases, verdicts,
lead tools, and a record of every change."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cases import opening, services
from cases.models import Case, CaseStatus, Queue
from rules.models import ListEntry
from scoring.models import Decision, LabelEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_review_decision_opens_a_case_in_its_queue_and_an_approval_does_not(api):
    factories.rule("big", "amount > 100", "review")
    approved = api.post("/api/v1/decisions", factories.payload(amount="20.00"), format="json")
    reviewed = factories.case_via_api(api, amount="500.00")

    assert approved.json()["outcome"] == "approve"
    assert Case.objects.count() == 1
    assert reviewed.status == CaseStatus.OPEN
    assert reviewed.queue.name == opening.DEFAULT_QUEUE
    assert reviewed.sla_due_at > timezone.now()
    assert [e.action for e in reviewed.events.all()] == ["opened"]


def test_cases_are_routed_to_the_first_queue_whose_conditions_hold(reviewing):
    Queue.objects.create(name="Transfers", position=1, match_channel="transfer")
    Queue.objects.create(name="High value", position=2, min_amount=Decimal("1000"))
    Queue.objects.create(name="Rule", position=3, match_rule="review_all")

    transfer = factories.case_via_api(reviewing, channel="transfer", amount="5000.00")
    big = factories.case_via_api(reviewing, amount="5000.00")
    small = factories.case_via_api(reviewing, amount="10.00")

    assert [c.queue.name for c in (transfer, big, small)] == ["Transfers", "High value", "Rule"]


def test_a_case_is_not_left_behind_when_its_decision_is_not_stored(reviewing, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(opening, "case_open_for_decision", broken)

    with pytest.raises(RuntimeError):
        reviewing.post("/api/v1/decisions", factories.payload(), format="json")

    assert (Decision.objects.count(), Case.objects.count()) == (0, 0)


def test_next_case_claims_the_highest_priority_open_case_with_a_lease(reviewing, analyst):
    small = factories.case_via_api(reviewing, amount="10.00")
    big = factories.case_via_api(reviewing, amount="900.00")

    first = services.case_claim_next(user=analyst)
    second = services.case_claim_next(user=analyst)

    assert (first, second) == (big, small)
    assert services.case_claim_next(user=analyst) is None
    big.refresh_from_db()
    assert big.status == CaseStatus.CLAIMED
    assert big.assignee == analyst
    assert timedelta(minutes=14) < big.lease_expires_at - timezone.now() <= timedelta(minutes=15)


def test_an_analyst_gets_only_the_queues_they_work(reviewing, analyst, other_analyst):
    queue = Queue.objects.create(name="VIP", position=1)
    queue.analysts.add(other_analyst)
    factories.case_via_api(reviewing)

    assert services.case_claim_next(user=analyst) is None
    assert services.case_claim_next(user=other_analyst) is not None


def test_an_expired_lease_returns_the_case_to_the_queue(reviewing, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)
    Case.objects.filter(pk=case.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    released = services.case_leases_release_expired()

    case.refresh_from_db()
    assert released == 1
    assert (case.status, case.assignee) == (CaseStatus.OPEN, None)
    last = case.events.last()
    assert (last.action, last.from_assignee, last.actor) == ("lease expired", "alice", None)
    assert services.case_claim_next(user=other_analyst) == case


def test_a_live_lease_is_not_released(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)

    assert services.case_leases_release_expired() == 0
    case.refresh_from_db()
    assert (case.status, case.assignee) == (CaseStatus.CLAIMED, analyst)


def test_a_claimed_case_cannot_be_claimed_again(reviewing, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)

    with pytest.raises(services.CaseError):
        services.case_claim(case=case, user=other_analyst)
    case.refresh_from_db()
    assert (case.status, case.assignee) == (CaseStatus.CLAIMED, analyst)


def test_a_fraud_verdict_labels_the_transaction_blocks_the_device_and_decides_the_case(
    reviewing, analyst
):
    case = factories.case_via_api(reviewing, device_id="dev-evil")
    services.case_claim(case=case, user=analyst)

    given = services.case_verdict(
        case=case, user=analyst, verdict="fraud", note="ATO confirmed", block=["device"]
    )

    label = LabelEvent.objects.get()
    assert (label.label, label.source, label.transaction) == (
        "fraud", "analyst", case.decision.transaction,
    )  # fmt: skip
    assert given.blocked == ("device",)
    assert ListEntry.objects.filter(list_type="block", entity="device", value="dev-evil").exists()
    case.refresh_from_db()
    assert (case.status, case.verdict, case.verdict_note) == ("decided", "fraud", "ATO confirmed")
    assert case.events.last().action == "verdict fraud"


def test_an_inconclusive_verdict_makes_no_training_label(reviewing, analyst):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)

    services.case_verdict(case=case, user=analyst, verdict="inconclusive", note="no contact")

    assert not LabelEvent.objects.exists()


def test_an_analyst_must_hold_the_case_to_give_a_verdict(reviewing, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=other_analyst)

    with pytest.raises(services.CaseError, match="Claim"):
        services.case_verdict(case=case, user=analyst, verdict="fraud")
    assert not LabelEvent.objects.exists()


def test_a_verdict_on_a_decided_case_is_refused(reviewing, lead):
    case = factories.case_via_api(reviewing)
    services.case_verdict(case=case, user=lead, verdict="legit")

    with pytest.raises(services.CaseError, match="already decided"):
        services.case_verdict(case=case, user=lead, verdict="fraud")
    assert LabelEvent.objects.count() == 1


def test_a_reassignment_without_a_reason_is_refused(reviewing, lead, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)

    with pytest.raises(ValidationError) as refused:
        services.case_reassign(case=case, lead=lead, to_user=other_analyst, reason="  ")

    assert "reason" in refused.value.message_dict
    case.refresh_from_db()
    assert case.assignee == analyst


def test_a_lead_reassigns_with_a_reason_and_the_change_is_recorded(
    reviewing, lead, analyst, other_analyst
):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)

    services.case_reassign(case=case, lead=lead, to_user=other_analyst, reason="alice is off")

    event = case.events.last()
    assert (event.actor, event.action, event.from_assignee, event.to_assignee, event.reason) == (
        lead, "reassigned", "alice", "bob", "alice is off",
    )  # fmt: skip
    case.refresh_from_db()
    assert (case.status, case.assignee) == (CaseStatus.CLAIMED, other_analyst)


def test_only_a_lead_can_reassign(reviewing, analyst, other_analyst):
    case = factories.case_via_api(reviewing)

    with pytest.raises(services.CaseError):
        services.case_reassign(case=case, lead=analyst, to_user=other_analyst, reason="mine now")
    case.refresh_from_db()
    assert (case.status, case.assignee) == (CaseStatus.OPEN, None)


def test_an_escalation_needs_a_reason_and_leaves_the_case_for_a_lead(reviewing, analyst, lead):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)
    with pytest.raises(ValidationError):
        services.case_escalate(case=case, user=analyst, reason="")

    services.case_escalate(case=case, user=analyst, reason="merchant is a partner")

    case.refresh_from_db()
    assert (case.status, case.assignee) == (CaseStatus.ESCALATED, None)
    services.case_verdict(case=case, user=lead, verdict="legit", note="partner confirmed")
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED


def test_a_bulk_verdict_needs_a_lead_and_a_note(reviewing, analyst, lead):
    cases = [factories.case_via_api(reviewing) for _ in range(3)]

    with pytest.raises(services.CaseError):
        services.cases_bulk_verdict(cases=cases, lead=analyst, verdict="legit", note="batch")
    with pytest.raises(ValidationError):
        services.cases_bulk_verdict(cases=cases, lead=lead, verdict="legit", note=" ")
    given = services.cases_bulk_verdict(cases=cases, lead=lead, verdict="legit", note="batch")

    assert len(given) == 3
    assert LabelEvent.objects.filter(label="legit", source="analyst").count() == 3


def test_priority_rises_with_score_and_amount():
    low = opening.case_priority(score=0.2, amount=50)
    assert opening.case_priority(score=0.8, amount=50) > low
    assert opening.case_priority(score=0.2, amount=5000) > low


def test_a_decline_and_review_rule_declines_and_opens_a_case(api):
    factories.rule("confirm_big", "amount > 1000", "decline_review")

    response = api.post("/api/v1/decisions", factories.payload(amount="5000.00"), format="json")
    plain = api.post("/api/v1/decisions", factories.payload(amount="50.00"), format="json")

    assert response.json()["outcome"] == "decline"
    case = Case.objects.get()
    assert str(case.decision_id) == response.json()["decision_id"]
    assert plain.json()["outcome"] == "approve"


def test_only_the_holder_or_a_lead_can_escalate(reviewing, analyst, other_analyst, lead):
    case = factories.case_via_api(reviewing)
    services.case_claim(case=case, user=analyst)

    with pytest.raises(services.CaseError):
        services.case_escalate(case=case, user=other_analyst, reason="not mine")
    services.case_escalate(case=case, user=lead, reason="partner merchant")

    case.refresh_from_db()
    assert case.status == CaseStatus.ESCALATED


def test_a_case_cannot_be_reassigned_to_someone_outside_its_queue(reviewing, lead, analyst):
    vip = Queue.objects.create(name="VIP", position=1)
    vip.analysts.add(lead)
    case = factories.case_via_api(reviewing)
    assert case.queue == vip

    with pytest.raises(ValidationError) as refused:
        services.case_reassign(case=case, lead=lead, to_user=analyst, reason="cover")

    assert "to_user" in refused.value.message_dict


def test_a_stale_page_cannot_reopen_a_decided_case(reviewing, lead, analyst, other_analyst):
    case = factories.case_via_api(reviewing)
    stale = Case.objects.get(pk=case.pk)
    services.case_verdict(case=case, user=lead, verdict="fraud", note="confirmed")

    with pytest.raises(services.CaseError, match="already decided"):
        services.case_reassign(case=stale, lead=lead, to_user=other_analyst, reason="cover")
    with pytest.raises(services.CaseError, match="already decided"):
        services.case_escalate(case=stale, user=lead, reason="second look")
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED


def test_an_allow_rule_wins_over_decline_and_review_and_opens_no_case(api):
    factories.rule("confirm_big", "amount > 1000", "decline_review")
    factories.rule("vip", "customer_id == 'vip-1'", "allow")

    response = api.post(
        "/api/v1/decisions", factories.payload(amount="5000.00", customer_id="vip-1"), format="json"
    )

    assert response.json()["outcome"] == "approve"
    assert not Case.objects.exists()
