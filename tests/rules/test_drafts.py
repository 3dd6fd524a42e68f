"""Policy drafts and four eyes: an edit makes a draft; someone else publishes it, after a
backtest; a publish is audited and can be rolled back; published versions never change."""

import pytest
from django.test import Client

from fraudops.audit.models import AuditEntry
from rules import drafts
from rules.loader import current_policy
from rules.models import (
    DraftStatus,
    ImmutableVersion,
    ListEntry,
    PolicyBacktest,
    PolicyDraft,
    PolicyRevision,
    Rule,
    RuleVersion,
    ScoreThresholds,
)
from rules.selectors import thresholds_stored
from scoring.models import Decision
from tests import factories

pytestmark = pytest.mark.django_db


def staff(username, role):
    person = factories.user(username, role)
    person.is_staff = True
    person.save(update_fields=["is_staff"])
    return person


@pytest.fixture
def ada():
    """An admin: edits rules (and could publish someone else's draft)."""
    return staff("ada", "admin")


@pytest.fixture
def lee():
    """A lead: publishes drafts others wrote."""
    return staff("lee", "lead")


def client_for(user) -> Client:
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def backtested(draft, user, days=30):
    """Mark the draft's current content as backtested (a real, finished, empty run)."""
    from scoring.backtest import backtest_run

    backtest = PolicyBacktest.objects.create(
        draft=draft, content_hash=drafts.draft_content_hash(draft), days=days, requested_by=user
    )
    return backtest_run(backtest_id=backtest.pk)


def publishable(draft, author, reason="tighten large amounts"):
    draft = drafts.draft_reason_set(draft=draft, reason=reason)
    backtested(draft, author)
    return draft


def rule_draft(author, expression="amount > 500", name="big_amount", action="review"):
    return drafts.draft_rule_propose(
        user=author, name=name, expression=expression, action=action, description="Large"
    )


def test_a_rule_saved_in_admin_is_a_draft_and_changes_nothing_in_force(ada):
    revision = PolicyRevision.objects.filter(pk=1).first()
    response = client_for(ada).post(
        "/admin/rules/rule/add/",
        {"name": "big_amount", "description": "Large", "expression": "amount > 500",
         "action": "review", "mode": "live", "versions-TOTAL_FORMS": "0",
         "versions-INITIAL_FORMS": "0"},
    )  # fmt: skip

    draft = PolicyDraft.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/rules/policydraft/{draft.pk}/change/"
    assert draft.author == ada
    assert draft.status == DraftStatus.DRAFT
    assert [c["expression"] for c in draft.changes["rules"]] == ["amount > 500"]
    assert not Rule.objects.exists()
    assert PolicyRevision.objects.filter(pk=1).first() == revision
    page = client_for(ada).get(response["Location"])
    assert page.status_code == 200
    assert "amount &gt; 500" in page.text


def test_thresholds_and_list_entries_saved_in_admin_are_drafts_too(ada):
    client = client_for(ada)
    client.post("/admin/rules/scorethresholds/add/", {"review_at": "0.4", "decline_at": "0.8"})
    client.post(
        "/admin/rules/listentry/add/",
        {"list_type": "block", "entity": "email", "value": "Eve@Example.com", "reason": "fraud"},
    )
    inverted = client.post(
        "/admin/rules/scorethresholds/add/", {"review_at": "0.95", "decline_at": "0.9"}
    )

    draft = PolicyDraft.objects.get()  # both edits went into ada's one open draft
    assert draft.changes["thresholds"] == {"review_at": 0.4, "decline_at": 0.8}
    from scoring.pii import email_hash

    assert [e["value"] for e in draft.changes["list_add"]] == [email_hash("eve@example.com")]
    assert inverted.status_code == 200
    assert "must not exceed" in inverted.text
    assert not ScoreThresholds.objects.exists()
    assert not ListEntry.objects.exists()


def test_the_author_cannot_publish_their_own_draft_and_nothing_changes(ada):
    draft = publishable(rule_draft(ada), ada)
    revision = current_policy().revision

    with pytest.raises(drafts.PublishRefused, match="someone other than its author"):
        drafts.draft_publish(draft=draft, user=ada)
    response = client_for(ada).post(f"/admin/rules/policydraft/{draft.pk}/publish/")

    assert response.status_code == 403
    assert "someone other than its author" in response.text
    draft.refresh_from_db()
    assert draft.status == DraftStatus.DRAFT
    assert not Rule.objects.exists()
    assert current_policy().revision == revision
    assert not AuditEntry.objects.filter(action="policy.publish").exists()


def test_someone_without_the_publish_permission_cannot_publish(ada):
    analyst = staff("ana", "analyst")
    draft = publishable(rule_draft(ada), ada)

    with pytest.raises(drafts.PublishRefused, match="publish permission"):
        drafts.draft_publish(draft=draft, user=analyst)
    assert not Rule.objects.exists()


def test_a_publish_without_a_backtest_is_refused_while_the_setting_is_on(ada, lee, settings):
    draft = drafts.draft_reason_set(draft=rule_draft(ada), reason="catch large amounts")

    response = client_for(lee).post(f"/admin/rules/policydraft/{draft.pk}/publish/")
    assert response.status_code == 403
    assert "Run a backtest of this draft" in response.text
    assert not Rule.objects.exists()

    settings.BACKTEST_REQUIRED_TO_PUBLISH = False
    assert drafts.draft_publish(draft=draft, user=lee).status == DraftStatus.PUBLISHED
    assert Rule.objects.get().expression == "amount > 500"


def test_a_backtest_of_earlier_content_does_not_count(ada, lee):
    draft = publishable(rule_draft(ada), ada)
    rule_draft(ada, expression="amount > 400")  # edited after the backtest

    with pytest.raises(drafts.PublishRefused, match="Run a backtest"):
        drafts.draft_publish(draft=draft, user=lee)


def test_a_publish_by_a_second_person_applies_it_all_at_one_revision_and_is_audited(
    ada, lee, settings
):
    settings.RULESET_REFRESH_SECONDS = 0
    factories.rule("old_rule", "amount > 10000", "decline")
    drafts.draft_rule_propose(user=ada, name="big_amount", expression="amount > 500",
                              action="review", description="Large")  # fmt: skip
    drafts.draft_rule_remove_propose(user=ada, name="old_rule")
    drafts.draft_thresholds_propose(user=ada, review_at=0.4, decline_at=0.8)
    draft = drafts.draft_list_add_propose(
        user=ada, entries=[("block", "card", "card-stolen", "chargeback", None)]
    )
    draft = publishable(draft, ada, reason="weekly review")
    before = current_policy().revision

    response = client_for(lee).post(f"/admin/rules/policydraft/{draft.pk}/publish/")

    assert response.status_code == 302
    policy = current_policy()
    assert policy.revision == before + 1  # one publish, one revision for the workers
    assert [s.name for s in policy.rules.specs] == ["big_amount"]
    assert (policy.thresholds.review, policy.thresholds.decline) == (0.4, 0.8)
    assert ("block", "card", "card-stolen") in policy.lists.entries
    entry = AuditEntry.objects.get(action="policy.publish")
    assert (entry.actor, entry.reason, entry.target_id) == ("lee", "weekly review", str(draft.pk))
    assert entry.changes["author"] == "ada"
    assert entry.changes["rules"]["old_rule"] == {
        "from": {"version": 1, "expression": "amount > 10000", "action": "decline",
                 "description": "", "mode": "live", "rollout_percent": None},
        "to": None,
    }  # fmt: skip
    assert entry.changes["rules"]["big_amount"]["to"]["expression"] == "amount > 500"
    assert entry.changes["thresholds"] == {
        "from": {"review_at": 0.5, "decline_at": 0.9},
        "to": {"review_at": 0.4, "decline_at": 0.8},
    }
    assert [e["value"] for e in entry.changes["list_add"]] == ["card-stolen"]


def test_a_publish_that_fails_half_way_changes_nothing(ada, lee, settings):
    settings.BACKTEST_REQUIRED_TO_PUBLISH = False
    drafts.draft_thresholds_propose(user=ada, review_at=0.4, decline_at=0.8)
    draft = drafts.draft_rule_propose(user=ada, name="ok_rule", expression="amount > 1",
                                      action="review")  # fmt: skip
    draft = drafts.draft_reason_set(draft=draft, reason="x")
    # A rule that stopped compiling after it was proposed (as if the facts changed).
    changes = draft.changes
    changes["rules"].append(
        {"name": "broken", "expression": "no_such_fact > 1", "action": "review",
         "description": "", "mode": "live", "rollout_percent": None}
    )  # fmt: skip
    PolicyDraft.objects.filter(pk=draft.pk).update(changes=changes)

    with pytest.raises(drafts.PublishRefused, match=r"cannot be applied.*no_such_fact"):
        drafts.draft_publish(draft=draft, user=lee)
    response = client_for(lee).post(f"/admin/rules/policydraft/{draft.pk}/publish/")
    assert response.status_code == 403

    assert not Rule.objects.exists()
    assert thresholds_stored().pk is None
    assert PolicyDraft.objects.get(pk=draft.pk).status == DraftStatus.DRAFT


def test_published_versions_and_drafts_never_change(ada, lee, settings):
    settings.BACKTEST_REQUIRED_TO_PUBLISH = False
    draft = drafts.draft_reason_set(draft=rule_draft(ada), reason="x")
    published = drafts.draft_publish(draft=draft, user=lee)
    version = RuleVersion.objects.get()

    version.expression = "amount > 1"
    with pytest.raises(ImmutableVersion):
        version.save()
    with pytest.raises(drafts.DraftNotOpen):
        drafts.draft_rule_propose(user=ada, name="x", expression="amount > 1", action="review",
                                  draft=published)  # fmt: skip
    with pytest.raises(drafts.DraftNotOpen):
        drafts.draft_discard(draft=published, user=ada)
    reason = client_for(ada).post(
        f"/admin/rules/policydraft/{published.pk}/reason/", {"reason": "rewritten"}
    )
    assert reason.status_code == 400
    assert RuleVersion.objects.get().expression == "amount > 500"
    assert PolicyDraft.objects.get(pk=published.pk).reason == "x"
    # The next edit goes into a new draft, not the published one.
    assert rule_draft(ada, expression="amount > 600").pk != published.pk


def test_rollback_restores_the_earlier_version_and_decisions_record_which_version_fired(
    ada, lee, api, settings
):
    settings.RULESET_REFRESH_SECONDS = 0
    settings.BACKTEST_REQUIRED_TO_PUBLISH = False

    def publish(draft, reason):
        return drafts.draft_publish(draft=drafts.draft_reason_set(draft=draft, reason=reason),
                                    user=lee)  # fmt: skip

    def fired(amount):
        body = api.post("/api/v1/decisions", factories.payload(amount=amount), format="json")
        assert body.status_code == 201, body.content
        rules = Decision.objects.get(pk=body.json()["decision_id"]).rules
        return [(hit["rule"], hit["version"]) for hit in rules]

    first = publish(rule_draft(ada, expression="amount > 500"), "large amounts")
    assert fired("600.00") == [("big_amount", 1)]
    publish(rule_draft(ada, expression="amount > 1000"), "too many reviews")
    assert fired("600.00") == []
    assert fired("1200.00") == [("big_amount", 2)]

    rollback = drafts.draft_rollback(to=first, user=ada, reason="v2 missed fraud")
    with pytest.raises(drafts.PublishRefused):
        drafts.draft_publish(draft=rollback, user=ada)  # four eyes for a rollback too
    drafts.draft_publish(draft=rollback, user=lee)

    rule = Rule.objects.get()
    assert (rule.version, rule.expression) == (1, "amount > 500")
    assert fired("600.00") == [("big_amount", 1)]
    assert list(RuleVersion.objects.order_by("version").values_list("version", "expression")) == [
        (1, "amount > 500"),
        (2, "amount > 1000"),
    ]
    audit = AuditEntry.objects.get(action="policy.rollback")
    assert (audit.actor, audit.reason) == ("lee", "v2 missed fraud")
    assert audit.changes["rules"]["big_amount"]["from"]["version"] == 2
    assert audit.changes["rules"]["big_amount"]["to"]["version"] == 1
    # A later edit is a new version above every earlier one.
    publish(rule_draft(ada, expression="amount > 700"), "middle ground")
    assert Rule.objects.get().version == 3
    assert fired("800.00") == [("big_amount", 3)]


def test_a_rollback_made_from_the_admin_page_is_a_new_draft(ada, lee, settings):
    settings.BACKTEST_REQUIRED_TO_PUBLISH = False
    first = drafts.draft_publish(
        draft=drafts.draft_reason_set(draft=rule_draft(ada), reason="x"), user=lee
    )
    drafts.draft_publish(
        draft=drafts.draft_reason_set(draft=rule_draft(ada, expression="amount > 9"), reason="y"),
        user=lee,
    )

    response = client_for(ada).post(
        f"/admin/rules/policydraft/{first.pk}/rollback/", {"reason": "back to v1"}
    )

    rollback = PolicyDraft.objects.get(rollback_of=first)
    assert response["Location"] == f"/admin/rules/policydraft/{rollback.pk}/change/"
    assert rollback.changes["rules"][0]["version"] == 1
    assert Rule.objects.get().version == 2  # nothing in force until it is published


def test_a_block_from_an_analysts_verdict_is_immediate_and_audited(api, settings):
    from cases.services import case_claim, case_verdict

    settings.RULESET_REFRESH_SECONDS = 0
    analyst = factories.user("ana", "analyst")
    factories.review_everything()
    case = factories.case_via_api(api, card_id="card-bad")
    case_claim(case=case, user=analyst)

    case_verdict(case=case, user=analyst, verdict="fraud", note="stolen", block=["card"])

    entry = ListEntry.objects.get(entity="card", value="card-bad")
    assert ("block", "card", "card-bad") in current_policy().lists.entries
    audit = AuditEntry.objects.get(action="list.add")
    assert (audit.actor, audit.target_id) == ("ana", str(entry.pk))
    assert not PolicyDraft.objects.exists()


def test_a_bulk_list_change_on_the_draft_page_refuses_a_bad_line_and_saves_nothing(ada):
    draft = rule_draft(ada)
    client = client_for(ada)

    bad = client.post(
        f"/admin/rules/policydraft/{draft.pk}/lists/",
        {"lines": "block,card,card-1\nblock,planet,mars"},
    )
    good = client.post(
        f"/admin/rules/policydraft/{draft.pk}/lists/",
        {"lines": "block,card,card-1,chargeback\nallow,customer,cust-vip"},
    )

    assert bad.status_code == 400
    assert "Line 2" in bad.text
    assert good.status_code == 302
    draft.refresh_from_db()
    assert [(e["list_type"], e["value"]) for e in draft.changes["list_add"]] == [
        ("block", "card-1"),
        ("allow", "cust-vip"),
    ]
    assert not ListEntry.objects.exists()


def test_leads_and_admins_may_publish_and_analysts_and_managers_may_not():
    may = {role: factories.user(f"u-{role}", role).has_perm(drafts.PUBLISH)
           for role in ("analyst", "lead", "manager", "admin")}  # fmt: skip

    assert may == {"analyst": False, "lead": True, "manager": False, "admin": True}


def test_a_lead_sees_a_draft_and_its_refusal_reason_before_publishing(ada, lee):
    draft = drafts.draft_reason_set(draft=rule_draft(ada), reason="catch large amounts")

    page = client_for(lee).get(f"/admin/rules/policydraft/{draft.pk}/change/")

    assert page.status_code == 200
    assert "Run a backtest of this draft" in page.text
    assert "amount &gt; 500" in page.text


def test_a_list_entry_an_analyst_added_meanwhile_does_not_fail_the_publish(ada, lee, settings):
    settings.BACKTEST_REQUIRED_TO_PUBLISH = False
    draft = drafts.draft_list_add_propose(
        user=ada,
        entries=[("block", "card", "card-9", "", None), ("block", "card", "card-8", "", None)],
    )
    draft = drafts.draft_reason_set(draft=draft, reason="bulk block")
    from rules.services import list_entry_create

    list_entry_create(list_type="block", entity="card", value="card-9", reason="verdict")

    published = drafts.draft_publish(draft=draft, user=lee)

    assert sorted(ListEntry.objects.values_list("value", "reason")) == [
        ("card-8", ""),
        ("card-9", "verdict"),
    ]
    assert [e["value"] for e in published.diff["list_add"]] == ["card-8"]
