"""Every change of which model decides: the transitions, their refusals, their audit entries."""

from datetime import UTC, datetime

import pytest

from fraudops.audit.models import AuditEntry
from scoring import lifecycle
from scoring.lifecycle import (
    CanaryShareInvalid,
    ModelNotPromotable,
    NoPreviousChampion,
    ReasonRequired,
    TransitionRefused,
    model_actions_allowed,
    model_canary_set,
    model_kill_switch,
    model_promote,
    model_reject,
    model_rollback,
    model_shadow_start,
)
from scoring.models import ModelStatus, ModelVersion
from tests import factories

pytestmark = pytest.mark.django_db


def version(name: str, status: ModelStatus = ModelStatus.CANDIDATE, **fields) -> ModelVersion:
    return ModelVersion.objects.create(
        name=name, path="/nowhere", sha256="a" * 64, features=[], calibration={},
        trained_from=datetime(2026, 3, 2, tzinfo=UTC),
        trained_until=datetime(2026, 4, 2, tzinfo=UTC),
        data_hash="x", status=status, **fields,
    )  # fmt: skip


def status_of(name: str) -> str:
    return ModelVersion.objects.get(name=name).status


def entries(action: str | None = None) -> list[AuditEntry]:
    found = AuditEntry.objects.order_by("id")
    return list(found if action is None else found.filter(action=action))


@pytest.fixture
def lead(db):
    return factories.user("lena", "lead")


def test_a_candidate_goes_into_shadow_with_an_audit_entry_saying_who_and_why(lead):
    candidate = version("m-1")

    model_shadow_start(version=candidate, actor=lead, reason="  weekly retrain  ")

    assert status_of("m-1") == ModelStatus.SHADOW
    (entry,) = entries()
    assert (entry.actor, entry.action, entry.reason) == (
        "lena",
        "model.shadow_start",
        "weekly retrain",
    )
    assert entry.target_repr == "m-1"
    assert entry.changes["status"] == {"from": "candidate", "to": "shadow"}


def test_a_new_shadow_rejects_the_one_it_supersedes(lead):
    old = version("m-old", ModelStatus.SHADOW, canary_share=0.3)

    model_shadow_start(version=version("m-new"), actor=lead, reason="better features")

    assert status_of("m-old") == ModelStatus.REJECTED
    assert ModelVersion.objects.get(pk=old.pk).canary_share == 0.0
    assert status_of("m-new") == ModelStatus.SHADOW
    (rejected,) = entries("model.reject")
    assert rejected.changes == {
        "status": {"from": "shadow", "to": "rejected"},
        "superseded_by": "m-new",
    }


def test_only_a_candidate_goes_into_shadow(lead):
    for status in (ModelStatus.CHAMPION, ModelStatus.RETIRED, ModelStatus.REJECTED):
        refused = version(f"m-{status}", status)
        with pytest.raises(TransitionRefused, match=f"it is {status}"):
            model_shadow_start(version=refused, actor=lead, reason="try")
        assert status_of(refused.name) == status
    assert entries() == []


def test_promoting_the_shadow_retires_the_champion_and_records_both(lead):
    version("m-a", ModelStatus.CHAMPION, promoted_at=datetime(2026, 3, 2, tzinfo=UTC))
    shadow = version("m-b", ModelStatus.SHADOW, canary_share=0.5)

    promoted = model_promote(version=shadow, actor=lead, reason="beats m-a on 3,000 labels")

    assert (status_of("m-a"), status_of("m-b")) == (ModelStatus.RETIRED, ModelStatus.CHAMPION)
    assert promoted.canary_share == 0.0
    assert promoted.promoted_at is not None
    retire, promote = entries()
    assert (retire.action, retire.target_repr, retire.changes["replaced_by"]) == (
        "model.retire",
        "m-a",
        "m-b",
    )
    assert (promote.action, promote.changes) == (
        "model.promote",
        {"status": {"from": "shadow", "to": "champion"}, "replaced": "m-a"},
    )
    assert {retire.reason, promote.reason} == {"beats m-a on 3,000 labels"}


@pytest.mark.parametrize("status", [ModelStatus.CANDIDATE, ModelStatus.RETIRED])
def test_a_candidate_or_a_retired_version_can_be_promoted(lead, status):
    model_promote(version=version("m-1", status), actor=lead, reason="why not")

    assert status_of("m-1") == ModelStatus.CHAMPION


@pytest.mark.parametrize("status", [ModelStatus.CHAMPION, ModelStatus.REJECTED])
def test_a_champion_or_a_rejected_version_cannot_be_promoted(lead, status):
    with pytest.raises(TransitionRefused):
        model_promote(version=version("m-1", status), actor=lead, reason="again")

    assert status_of("m-1") == status
    assert entries() == []


def test_a_version_whose_metrics_are_not_computable_is_not_promoted(lead):
    blind = version("m-blind", metrics={"not_computable": {"auc_roc": "no fraud"}})

    with pytest.raises(ModelNotPromotable, match="auc_roc: no fraud"):
        model_promote(version=blind, actor=lead, reason="trust me")

    assert status_of("m-blind") == ModelStatus.CANDIDATE


def test_a_person_must_give_a_reason_and_nothing_changes_without_one(lead):
    candidate = version("m-1")

    for blank in ("", "   "):
        with pytest.raises(ReasonRequired, match="lena"):
            model_promote(version=candidate, actor=lead, reason=blank)

    assert status_of("m-1") == ModelStatus.CANDIDATE
    assert entries() == []


def test_the_system_records_its_own_reason_under_its_name():
    model_promote(version=version("m-1"), actor=None, reason="train_model --promote")

    (entry,) = entries()
    assert (entry.actor, entry.reason) == ("system", "train_model --promote")


def test_rollback_restores_the_previous_champion_and_retires_the_current_one(lead):
    first, second = version("m-a"), version("m-b")
    model_promote(version=first, actor=lead, reason="first")
    model_promote(version=second, actor=lead, reason="second")

    restored = model_rollback(actor=lead, reason="m-b declines too many good customers")

    assert restored.pk == first.pk
    assert (status_of("m-a"), status_of("m-b")) == (ModelStatus.CHAMPION, ModelStatus.RETIRED)
    (rollback,) = entries("model.rollback")
    assert rollback.actor == "lena"
    assert rollback.reason == "m-b declines too many good customers"
    assert rollback.changes == {"status": {"from": "retired", "to": "champion"}, "replaced": "m-b"}


def test_rollback_goes_to_the_retired_version_promoted_most_recently_not_the_oldest(lead):
    for name in ("m-a", "m-b", "m-c"):
        model_promote(version=version(name), actor=lead, reason=name)

    model_rollback(actor=lead, reason="back")

    assert status_of("m-b") == ModelStatus.CHAMPION
    assert status_of("m-a") == ModelStatus.RETIRED


def test_rollback_without_an_earlier_champion_is_refused_saying_so(lead):
    only = version("m-a")
    model_promote(version=only, actor=lead, reason="first")
    # A retired version that never was champion (a candidate cannot be retired, but an import
    # could) is not a previous champion.
    version("m-never", ModelStatus.RETIRED)

    with pytest.raises(NoPreviousChampion, match="no earlier champion"):
        model_rollback(actor=lead, reason="undo")

    assert status_of("m-a") == ModelStatus.CHAMPION
    assert entries("model.rollback") == []


@pytest.mark.parametrize("status", [ModelStatus.CANDIDATE, ModelStatus.SHADOW])
def test_a_candidate_or_a_shadow_can_be_rejected(lead, status):
    rejected = model_reject(version=version("m-1", status), actor=lead, reason="worse AP")

    assert rejected.status == ModelStatus.REJECTED
    (entry,) = entries("model.reject")
    assert entry.changes["status"] == {"from": str(status), "to": "rejected"}


@pytest.mark.parametrize("status", [ModelStatus.CHAMPION, ModelStatus.RETIRED])
def test_a_champion_or_a_retired_version_cannot_be_rejected(lead, status):
    with pytest.raises(TransitionRefused):
        model_reject(version=version("m-1", status), actor=lead, reason="no")

    assert status_of("m-1") == status


def test_a_canary_share_is_set_on_the_shadow_and_recorded_from_and_to(lead):
    shadow = version("m-s", ModelStatus.SHADOW)

    model_canary_set(version=shadow, share=0.25, actor=lead, reason="try a quarter")

    assert ModelVersion.objects.get(pk=shadow.pk).canary_share == 0.25
    (entry,) = entries("model.canary")
    assert entry.changes == {"canary_share": {"from": 0.0, "to": 0.25}}


@pytest.mark.parametrize("share", [-0.1, 1.01, float("nan"), float("inf")])
def test_a_canary_share_outside_0_to_1_is_refused(lead, share):
    shadow = version("m-s", ModelStatus.SHADOW)

    with pytest.raises(CanaryShareInvalid):
        model_canary_set(version=shadow, share=share, actor=lead, reason="oops")

    assert ModelVersion.objects.get(pk=shadow.pk).canary_share == 0.0


@pytest.mark.parametrize("status", [ModelStatus.CANDIDATE, ModelStatus.CHAMPION])
def test_only_the_shadow_gets_a_canary_share(lead, status):
    with pytest.raises(TransitionRefused):
        model_canary_set(version=version("m-1", status), share=0.5, actor=lead, reason="x")

    assert ModelVersion.objects.get(name="m-1").canary_share == 0.0


def test_the_kill_switch_sets_every_canary_share_to_zero_and_records_it(lead):
    shadow = version("m-s", ModelStatus.SHADOW, canary_share=0.4)

    stopped = model_kill_switch(actor=lead, reason="chargebacks spiking")

    assert stopped == 1
    assert ModelVersion.objects.get(pk=shadow.pk).canary_share == 0.0
    assert ModelVersion.objects.get(pk=shadow.pk).status == ModelStatus.SHADOW
    (entry,) = entries("model.kill_switch")
    assert (entry.actor, entry.reason) == ("lena", "chargebacks spiking")
    assert entry.changes == {"canary_share": {"from": 0.4, "to": 0.0}}


def test_the_kill_switch_with_no_canary_changes_and_records_nothing(lead):
    version("m-s", ModelStatus.SHADOW)

    assert model_kill_switch(actor=lead, reason="just in case") == 0
    assert entries() == []


def test_a_stale_instance_is_read_again_before_it_is_changed(lead):
    candidate = version("m-1")
    ModelVersion.objects.filter(pk=candidate.pk).update(status=ModelStatus.REJECTED)

    with pytest.raises(TransitionRefused, match="it is rejected"):
        model_promote(version=candidate, actor=lead, reason="stale page")


def test_the_buttons_offered_are_the_changes_the_status_allows():
    offered = {
        status: model_actions_allowed(version(f"m-{status}", status)) for status in ModelStatus
    }

    assert offered == {
        ModelStatus.CANDIDATE: ["shadow_start", "promote", "reject"],
        ModelStatus.SHADOW: ["promote", "reject", "canary"],
        ModelStatus.CHAMPION: [],
        ModelStatus.RETIRED: ["promote"],
        ModelStatus.REJECTED: [],
    }


def test_every_lifecycle_error_is_a_lifecycle_error():
    for error in (
        ReasonRequired,
        TransitionRefused,
        ModelNotPromotable,
        NoPreviousChampion,
        CanaryShareInvalid,
    ):
        assert issubclass(error, lifecycle.LifecycleError)
