"""Input a hostile or careless integrator sends: a clear 400 naming the field, nothing stored,
nothing counted in the feature store."""

import io
import json
from datetime import timedelta

import pytest
from django.core.signals import request_started
from django.db import close_old_connections, connection
from django.utils import timezone

from fraudops.wsgi import application
from scoring import decisions
from scoring.features.memory_store import MemoryFeatureStore
from scoring.models import Decision, LabelEvent, Transaction
from scoring.replay import store_warm
from scoring.scorer import ConstantScorer
from tests import factories

pytestmark = pytest.mark.django_db


def post(api, body):
    return api.post("/api/v1/decisions", body, format="json")


def post_raw(api, text: str):
    return api.post("/api/v1/decisions", text, content_type="application/json")


def assert_refused(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["fields"], body


def assert_nothing_was_counted(api) -> None:
    """A valid transaction of the same customer and card sees no earlier one."""
    response = post(api, factories.payload())
    assert response.status_code == 201, response.content
    features = Decision.objects.get(pk=response.json()["decision_id"]).features
    assert features["customer_txn_count_1m"] == 0.0
    assert features["card_txn_count_1m"] == 0.0
    assert Transaction.objects.count() == 1


def test_an_occurred_at_of_year_one_is_refused_and_nothing_is_counted(api):
    response = post(api, factories.payload(occurred_at="0001-01-01T00:00:00+01:00"))

    assert_refused(response, "occurred_at")
    assert_nothing_was_counted(api)


def test_an_occurred_at_beyond_the_back_fill_window_is_refused(api, settings):
    settings.DECISION_MAX_AGE_DAYS = 30
    old = (timezone.now() - timedelta(days=31)).isoformat()

    response = post(api, factories.payload(occurred_at=old))

    assert_refused(response, "occurred_at")
    assert "30 days in the past" in response.json()["fields"]["occurred_at"][0]


def test_back_filled_history_within_the_window_is_decided(api, settings):
    settings.DECISION_MAX_AGE_DAYS = 400
    old = (timezone.now() - timedelta(days=300)).isoformat()

    assert post(api, factories.payload(occurred_at=old)).status_code == 201


def test_a_far_future_date_at_a_negative_offset_is_refused(api):
    response = post(api, factories.payload(occurred_at="9999-12-31T23:59:59-01:00"))

    assert_refused(response, "occurred_at")


def test_a_label_reported_in_year_one_is_refused(api):
    body = factories.payload()
    assert post(api, body).status_code == 201  # the label's transaction is known

    response = api.post(
        "/api/v1/labels",
        {
            "transaction_id": body["transaction_id"],
            "label": "fraud",
            "source": "chargeback",
            "reported_at": "0001-01-01T00:00:00+01:00",
        },
        format="json",
    )

    assert_refused(response, "reported_at")
    assert not LabelEvent.objects.exists()


def test_a_retry_with_extra_optional_fields_is_a_conflict_not_an_error(api, store, serve_with):
    serve_with(store=store)
    body = factories.payload(device_id=None, ip=None)
    assert post(api, body).status_code == 201

    response = post(api, {**body, "device_id": "dev-9", "ip": "198.51.100.1"})

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "idempotency_conflict"
    following = post(api, factories.payload(device_id=None, ip=None))
    features = Decision.objects.get(pk=following.json()["decision_id"]).features
    assert features["customer_txn_count_1m"] == 1.0


def test_a_same_body_retry_after_the_store_was_warmed_from_the_database_is_replayed(
    api, serve_with
):
    body = factories.payload()
    first = post(api, body)
    warmed = MemoryFeatureStore()
    store_warm(warmed)  # what the embedded default does at start-up
    serve_with(store=warmed)

    again = post(api, body)
    conflicting = post(api, {**body, "amount": "99.00"})

    assert again.status_code == 200, again.content
    assert again.json()["decision_id"] == first.json()["decision_id"]
    assert conflicting.status_code == 409


@pytest.mark.parametrize(
    ("metadata_json", "why"),
    [
        ('{"note": "a\\u0000b"}', "NUL"),
        ('{"note": "\\udc00"}', "surrogate"),
        ('{"big": 1e309}', "finite"),
        ('{"deep": ' + "[" * 990 + "]" * 990 + "}", "nested"),
        ('{"card": "4111.1111.1111.1111"}', "card number"),
        ('{"pan:4111111111111111": "x"}', "card number"),
        ('{"n": 9007199254740993}', "within"),
        ('{"k": {"a": 1}}', "nested"),
        ('{"": 1}', "1 to 64"),
    ],
)
def test_metadata_postgresql_cannot_store_or_that_hides_a_card_is_refused(api, metadata_json, why):
    body = factories.payload()
    text = json.dumps(body)[:-1] + ', "metadata": ' + metadata_json + "}"

    response = post_raw(api, text)

    if response.json().get("code") == "parse_error":
        # Deep nesting may already stop the JSON parser, depending on the stack in use.
        assert why == "nested"
        assert response.status_code == 400
    else:
        assert_refused(response, "metadata")
        assert why in json.dumps(response.json()["fields"]["metadata"]).replace("\\u00b1", "±")
    assert_nothing_was_counted(api)


def test_metadata_as_arrays_is_refused(api):
    text = json.dumps(factories.payload())[:-1] + ', "metadata": ' + "[" * 50 + "]" * 50 + "}"

    assert_refused(post_raw(api, text), "metadata")


def test_json_nested_beyond_what_python_parses_is_a_400(api):
    # About 10 KB, far below the size limit, and deeper than Python's parser can follow.
    response = post_raw(api, '{"metadata": ' + "[" * 5_000 + "]" * 5_000 + "}")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_flat_metadata_is_stored_as_sent(api):
    metadata = {"order": "o-1", "items": 3, "gift": False, "weight": 1.5, "coupon": None}

    response = post(api, factories.payload(metadata=metadata))

    assert response.status_code == 201
    assert Transaction.objects.get().metadata == metadata


@pytest.mark.parametrize(
    "field",
    ["card_id", "customer_id", "merchant_id", "device_id", "payee_id", "transaction_id"],
)
@pytest.mark.parametrize("spelling", ["4111.1111.1111.1111", "pan:4111111111111111"])
def test_a_card_number_in_any_free_text_field_is_refused(api, field, spelling):
    response = post(api, factories.payload(**{field: spelling}))

    assert_refused(response, field)
    assert_nothing_was_counted(api)


def test_a_card_number_as_the_local_part_of_an_email_is_refused(api):
    assert_refused(post(api, factories.payload(email="4111111111111111@example.com")), "email")


@pytest.mark.parametrize("field", ["customer_id", "merchant_id", "card_id", "transaction_id"])
def test_a_number_where_a_string_belongs_is_refused(api, field):
    assert_refused(post(api, factories.payload(**{field: 12345})), field)


def test_an_amount_sent_as_a_json_number_is_accepted(api):
    assert post(api, factories.payload(amount=49.9)).status_code == 201


def test_a_malformed_decision_id_is_a_json_404(api):
    response = api.get("/api/v1/decisions/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def _wsgi_post(body: bytes, key: str) -> tuple[str, bytes]:
    """POST through the WSGI application as gunicorn hands over a chunked body."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/decisions",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Token {key}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    status: list[str] = []
    # As Django's test client does: a request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    try:
        chunks = application(environ, lambda s, headers, exc_info=None: status.append(s))
        return status[0], b"".join(chunks)
    finally:
        request_started.connect(close_old_connections)


def test_a_chunked_request_body_is_read(issued):
    status, body = _wsgi_post(json.dumps(factories.payload()).encode(), issued.key)

    assert status.startswith("201"), body
    assert Decision.objects.count() == 1


def test_a_chunked_body_over_the_limit_is_a_413(issued):
    big = factories.payload(metadata={f"k{i}": "x" * 250 for i in range(50)})
    padded = json.dumps(big).encode() + b" " * (70 * 1024)

    status, _ = _wsgi_post(padded, issued.key)

    assert status.startswith("413")
    assert Decision.objects.count() == 0


def test_the_explanation_sweep_skips_a_row_that_does_not_read_back(
    api, settings, caplog, serve_with
):
    serve_with(scorer=ConstantScorer(0.01))
    first, _second = (post(api, factories.payload()).json() for _ in range(2))
    Decision.objects.update(reasons_pending=True, created_at=timezone.now() - timedelta(hours=1))
    bad = Decision.objects.get(pk=first["decision_id"]).transaction_id
    with connection.cursor() as cursor:
        # What an unbounded occurred_at used to store: a BC date in UTC.
        cursor.execute(
            "UPDATE scoring_transaction SET occurred_at = %s WHERE id = %s",
            [
                "0000-12-31 23:00:00"
                if connection.vendor == "sqlite"
                else "0001-12-31 23:00:00 BC",
                bad,
            ],
        )

    explained = decisions.decisions_explain_pending()

    assert explained == 1
    assert not Decision.objects.filter(reasons_pending=True).exists()
    assert "the sweep skips it" in caplog.text


@pytest.mark.parametrize(
    "fragment",
    [
        '"channel": "\\ud800"',
        '"\\ud800": 1',
        '"metadata": {"\\udc00": "x"}',
        '"currency": "\\udc00EU"',
    ],
)
def test_a_lone_surrogate_anywhere_is_a_400_never_a_500(api, fragment):
    body = {k: v for k, v in factories.payload().items() if k != "channel"}
    text = (
        json.dumps(body)[:-1]
        + ", "
        + fragment
        + ("" if "channel" in fragment else ', "channel": "ecom"')
        + "}"
    )

    response = post_raw(api, text)

    assert response.status_code == 400, response.content
    assert_nothing_was_counted(api)


def test_a_lone_surrogate_in_a_label_is_a_400(api):
    body = factories.payload()
    post(api, body)
    text = json.dumps({"transaction_id": body["transaction_id"], "source": "chargeback"})
    response = api.post(
        "/api/v1/labels", text[:-1] + ', "label": "\\ud800"}', content_type="application/json"
    )

    assert response.status_code == 400, response.content


def test_a_retry_the_store_has_forgotten_is_not_counted_again(api, serve_with):
    # Observed up to 24 h before it occurs, a transaction's seen marker (48 h) can expire while
    # its occurred_at is only a day old: such a retry is looked up before the store is asked.
    occurred = timezone.now() - timedelta(hours=30)
    body = factories.payload(card_id="card-f", occurred_at=occurred.isoformat())
    assert post(api, body).status_code == 201
    forgetful = MemoryFeatureStore()  # as after the marker expired
    serve_with(store=forgetful)

    again = post(api, body)
    later = post(
        api,
        factories.payload(
            card_id="card-f", occurred_at=(occurred + timedelta(minutes=1)).isoformat()
        ),
    )

    assert again.status_code == 200
    features = Decision.objects.get(pk=later.json()["decision_id"]).features
    assert features["card_txn_count_1m"] == 0.0
