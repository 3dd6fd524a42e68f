"""POST/GET /api/v1/decisions and POST /api/v1/labels, through the real stack."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from rules.models import ListEntry
from rules.services import list_entry_create, rule_save
from scoring import decisions, selectors
from scoring.integrators import api_key_revoke
from scoring.models import Decision, LabelEvent, Transaction
from tests import factories

pytestmark = pytest.mark.django_db


def post(api, body):
    return api.post("/api/v1/decisions", body, format="json")


def test_it_decides_and_stores_the_transaction_and_its_decision(api):
    response = post(api, factories.payload(transaction_id="t-1"))

    assert response.status_code == 201
    body = response.json()
    assert body["outcome"] == "approve"
    assert body["transaction_id"] == "t-1"
    assert set(body) == {
        "decision_id", "transaction_id", "outcome", "score", "reasons", "rules",
        "model_version", "degraded", "latency_ms",
    }  # fmt: skip
    decision = Decision.objects.get(pk=body["decision_id"])
    assert decision.transaction.transaction_id == "t-1"
    assert decision.latency_ms > 0


def test_a_retry_returns_the_same_decision_with_the_replay_header(api):
    body = factories.payload()
    first = post(api, body)

    again = post(api, body)

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["decision_id"] == first.json()["decision_id"]
    assert Decision.objects.count() == 1


def test_the_same_transaction_id_with_another_body_is_a_conflict(api):
    body = factories.payload()
    post(api, body)

    response = post(api, {**body, "amount": "26.00"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert Decision.objects.count() == 1


def test_two_integrators_may_use_the_same_transaction_id(api, anonymous_api):
    other = factories.integrator("globex")
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Token {other.key}")
    body = factories.payload(transaction_id="shared")

    assert post(api, body).status_code == 201
    assert post(anonymous_api, body).status_code == 201
    stored = Transaction.objects.filter(transaction_id="shared")
    assert sorted(stored.values_list("integrator__name", flat=True)) == ["acme", "globex"]


def test_a_retry_is_not_counted_twice_in_velocity_features(api):
    body = factories.payload(card_id="card-r")
    first = post(api, body)
    retry = post(api, body)

    response = post(api, factories.payload(card_id="card-r"))

    assert (first.status_code, retry.status_code) == (201, 200)  # the retry was replayed
    decision = Decision.objects.get(pk=response.json()["decision_id"])
    assert decision.features["card_txn_count_1m"] == 1.0


def test_the_sixth_transaction_of_a_card_within_a_minute_is_declined(api, store, serve_with):
    # `store` runs this test once on the in-process store and once on the real Redis.
    serve_with(store=store)
    factories.rule("card_burst", "card_txn_count_1m >= 5", "decline")
    start = timezone.now()

    outcomes = [
        post(api, factories.payload(card_id="burst", occurred_at=start.isoformat())).json()[
            "outcome"
        ]
        for _ in range(6)
    ]

    assert outcomes == ["approve"] * 5 + ["decline"]
    declined = Decision.objects.get(outcome="decline")
    assert declined.rules == [
        {
            "rule": "card_burst",
            "version": 1,
            "action": "decline",
            "expression": "card_txn_count_1m >= 5",
        }
    ]


def test_a_block_list_hit_declines_without_calling_the_scorer(api, serve_with):
    class ScorerThatMustNotRun:
        version = "m1"

        def predict(self, features):
            raise AssertionError("scorer called")

        def explain(self, features):
            raise AssertionError("scorer called")

    serve_with(scorer=ScorerThatMustNotRun())
    list_entry_create(list_type="block", entity="email", value="Mallory@Example.com")

    response = post(api, factories.payload(email="mallory@example.com"))

    assert response.json()["outcome"] == "decline"
    assert response.json()["reasons"][0]["code"] == "list.block.email"
    assert response.json()["score"] is None


def test_the_stored_record_shows_rule_versions_features_and_thresholds(api):
    rule = factories.rule("big", "amount > 100", "review", description="Large amount")
    rule.expression = "amount > 90"
    rule_save(rule=rule)
    created = post(api, factories.payload(amount="150.00")).json()

    record = api.get(f"/api/v1/decisions/{created['decision_id']}").json()

    assert record["outcome"] == "review"
    assert record["rules"] == [
        {"rule": "big", "version": 2, "action": "review", "expression": "amount > 90"}
    ]
    assert record["reasons"][0] == {
        "code": "rule.big",
        "text": "Large amount",
        "contribution": None,
    }
    assert record["thresholds"] == {"review": 0.5, "decline": 0.9}
    assert record["features"]["amount"] == 150.0
    assert record["policy_revision"] >= 2
    assert record["transaction"]["email_hash"]
    assert "email" not in record["transaction"]


def test_another_integrators_decision_is_not_found(api, anonymous_api):
    created = post(api, factories.payload()).json()
    other = factories.integrator("globex")
    anonymous_api.credentials(HTTP_AUTHORIZATION=f"Token {other.key}")

    assert anonymous_api.get(f"/api/v1/decisions/{created['decision_id']}").status_code == 404


def test_the_email_is_stored_only_as_a_keyed_hash(api):
    post(api, factories.payload(email="Alice@Example.com", metadata={"order": "o-1"}))

    stored = Transaction.objects.get()
    assert (
        "alice"
        not in json.dumps([stored.email_hash, stored.metadata, stored.decision.features]).lower()
    )
    assert len(stored.email_hash) == 64


def _count_rows() -> tuple[int, int]:
    return Transaction.objects.count(), Decision.objects.count()


BAD_INPUTS = [
    ("transaction_id", {"transaction_id": None}),
    ("transaction_id", {"transaction_id": "x" * 65}),
    ("occurred_at", {"occurred_at": None}),
    ("occurred_at", {"occurred_at": "2026-11-24T10:00:00"}),
    ("occurred_at", {"occurred_at": "yesterday"}),
    ("occurred_at", {"occurred_at": "2099-01-01T00:00:00Z"}),
    ("amount", {"amount": None}),
    ("amount", {"amount": "0"}),
    ("amount", {"amount": "-5"}),
    ("amount", {"amount": "NaN"}),
    ("amount", {"amount": "Infinity"}),
    ("amount", {"amount": "12.345"}),
    ("amount", {"amount": "100.5", "currency": "JPY"}),
    ("amount", {"amount": "twelve"}),
    ("amount", {"amount": True}),
    ("currency", {"currency": "XYZ"}),
    ("currency", {"currency": None}),
    ("customer_id", {"customer_id": None}),
    ("customer_id", {"customer_id": ""}),
    ("merchant_id", {"merchant_id": None}),
    ("channel", {"channel": "telepathy"}),
    ("channel", {"channel": None}),
    ("country", {"country": "XX"}),
    ("country", {"country": "DEU"}),
    ("ip", {"ip": "999.1.1.1"}),
    ("email", {"email": "not-an-email"}),
    ("card_id", {"card_id": "4111111111111111"}),
    ("card_id", {"card_id": "4111 1111 1111 1111"}),
    ("metadata", {"metadata": "not an object"}),
    ("metadata", {"metadata": {"blob": "x" * 5000}}),
    ("unexpected", {"unexpected": 1}),
]


@pytest.mark.parametrize(
    ("field", "change"), BAD_INPUTS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_INPUTS)]
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_written(api, field, change):
    response = post(api, factories.payload(**{"card_id": "card-b", **change}))

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"], body
    assert _count_rows() == (0, 0)
    follow_up = post(api, factories.payload(card_id="card-b")).json()
    assert Decision.objects.get(pk=follow_up["decision_id"]).features["card_txn_count_1m"] == 0


def test_a_card_token_that_is_not_luhn_valid_is_accepted(api):
    assert post(api, factories.payload(card_id="4111111111111112")).status_code == 201


def test_a_body_that_is_not_json_is_refused(api):
    response = api.post("/api/v1/decisions", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert _count_rows() == (0, 0)


def test_a_form_encoded_body_is_refused_as_not_json(api):
    response = api.post(
        "/api/v1/decisions", "amount=5", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert _count_rows() == (0, 0)


def test_a_json_body_that_is_not_an_object_is_refused(api):
    response = api.post("/api/v1/decisions", "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert "non_field_errors" in response.json()["fields"]


def test_a_body_over_64_kb_is_refused_with_413(api):
    body = factories.payload(metadata={"pad": "x" * 70_000})

    response = api.post("/api/v1/decisions", json.dumps(body), content_type="application/json")

    assert response.status_code == 413
    assert _count_rows() == (0, 0)


def test_a_request_without_a_key_is_unauthorized(anonymous_api, db):
    response = post(anonymous_api, factories.payload())

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_a_revoked_key_is_unauthorized_at_once_though_it_was_cached(api, issued):
    assert post(api, factories.payload()).status_code == 201  # the key is now cached

    api_key_revoke(api_key=issued.api_key)

    assert post(api, factories.payload()).status_code == 401
    assert _count_rows() == (1, 1)


def test_a_cached_key_saves_the_database_query(api, issued, django_assert_max_num_queries):
    from scoring.auth import api_key_active, key_hash

    post(api, factories.payload())

    with django_assert_max_num_queries(0):
        assert api_key_active(key_hash(issued.key)) == issued.api_key


def test_a_wrong_key_is_unauthorized(anonymous_api, db):
    anonymous_api.credentials(HTTP_AUTHORIZATION="Token fo_wrong")

    assert post(anonymous_api, factories.payload()).status_code == 401


def test_a_label_is_appended_for_a_known_transaction(api):
    post(api, factories.payload(transaction_id="t-9"))

    response = api.post(
        "/api/v1/labels",
        {"transaction_id": "t-9", "label": "fraud", "source": "chargeback",
         "reported_at": (timezone.now() - timedelta(days=2)).isoformat()},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201
    label = LabelEvent.objects.get()
    assert (label.label, label.source, label.transaction.transaction_id) == (
        "fraud",
        "chargeback",
        "t-9",
    )


def test_a_retried_label_is_recorded_once(api):
    post(api, factories.payload(transaction_id="t-r"))
    body = {
        "transaction_id": "t-r", "label": "fraud", "source": "chargeback",
        "reported_at": (timezone.now() - timedelta(days=2)).isoformat(),
    }  # fmt: skip

    first = api.post("/api/v1/labels", body, format="json")
    again = api.post("/api/v1/labels", body, format="json")
    reversed_later = api.post(
        "/api/v1/labels",
        {**body, "label": "legit", "reported_at": (timezone.now() - timedelta(days=1)).isoformat()},
        format="json",
    )  # fmt: skip

    assert (first.status_code, again.status_code, reversed_later.status_code) == (201, 200, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["label_id"] == first.json()["label_id"]
    assert LabelEvent.objects.count() == 2


def test_a_label_for_an_unknown_transaction_is_not_found(api):
    response = api.post(
        "/api/v1/labels",
        {"transaction_id": "nope", "label": "fraud", "source": "chargeback"},
        format="json",
    )

    assert response.status_code == 404
    assert LabelEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "change"),
    [("label", {"label": "maybe"}), ("source", {"source": "analyst"}),
     ("reported_at", {"reported_at": "2026-11-20"})],
)  # fmt: skip
def test_a_bad_label_is_refused_with_the_field(api, field, change):
    post(api, factories.payload(transaction_id="t-8"))
    body = {"transaction_id": "t-8", "label": "fraud", "source": "chargeback", **change}

    response = api.post("/api/v1/labels", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert LabelEvent.objects.count() == 0


def test_the_openapi_schema_and_docs_are_served_locally(anonymous_api):
    schema = anonymous_api.get("/api/schema/")
    docs = anonymous_api.get("/api/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/decisions" in schema.content
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/" in docs.content
    # Not a bare "cdn": the page embeds a random CSRF token, which now and then contains one.
    assert b"cdn." not in docs.content.lower()
    assert not re.search(rb"""(src|href)=["']?(https?:)?//""", docs.content)


def test_an_expired_list_entry_no_longer_blocks(api):
    entry = list_entry_create(list_type="block", entity="card", value="card-x")
    ListEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now())

    assert post(api, factories.payload(card_id="card-x")).json()["outcome"] == "approve"


def test_a_retry_is_caught_by_the_unique_constraint_and_answered_with_the_first_decision(
    api, monkeypatch
):
    body = factories.payload()
    real_lookup = selectors.decision_for_transaction
    calls = []

    def counted_lookup(**kwargs):
        calls.append(kwargs)
        return real_lookup(**kwargs)

    monkeypatch.setattr(decisions, "decision_for_transaction", counted_lookup)
    first = post(api, body).json()
    assert calls == []  # a first attempt does not look for an earlier decision

    response = post(api, body)

    assert len(calls) == 1  # only after the insert hit the unique constraint
    assert response.status_code == 200
    assert response.json()["decision_id"] == first["decision_id"]
    assert Decision.objects.count() == 1


def test_a_retry_of_a_transaction_older_than_the_stores_memory_is_answered_before_deciding(
    api, serve_with
):
    body = factories.payload(occurred_at=(timezone.now() - timedelta(days=3)).isoformat())
    first = post(api, body).json()

    class StoreThatForgot:
        def observe(self, event, *, scope):
            raise AssertionError("a retry must not be recorded again")

    serve_with(store=StoreThatForgot())
    response = post(api, body)

    assert response.status_code == 200
    assert response.json()["decision_id"] == first["decision_id"]


def test_an_unreachable_feature_store_still_answers_with_a_degraded_decision(api, serve_with):
    from scoring.features.store import RedisFeatureStore

    dead = RedisFeatureStore.from_url("redis://127.0.0.1:1/0", timeout=0.05)
    serve_with(store=dead)

    response = post(api, factories.payload())

    assert response.status_code == 201
    assert response.json()["degraded"] is True
    assert Decision.objects.get().degraded is True


def test_a_decision_without_a_published_cold_generation_is_degraded(api):
    body = api.post("/api/v1/decisions", factories.payload(), format="json").json()

    assert (body["degraded"], Decision.objects.get().cold_as_of) == (True, None)


def test_a_decision_with_a_published_cold_generation_is_not_degraded(api, cold_published):
    body = api.post("/api/v1/decisions", factories.payload(), format="json").json()

    assert (body["degraded"], Decision.objects.get().cold_as_of) == (False, cold_published)
