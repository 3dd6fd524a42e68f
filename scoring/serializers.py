"""The decision API's request and response shapes (validation only: no logic here)."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone
from django_stubs_ext import StrOrPromise
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scoring.currencies import COUNTRIES, CURRENCIES, minor_units
from scoring.models import Channel, Decision, Label, LabelSource, Transaction
from scoring.pii import contains_pan
from scoring.transaction import FACT_NAMES

MAX_FUTURE = timedelta(hours=24)
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 64
METADATA_MAX_TEXT_LENGTH = 256
# Integers beyond this lose precision in JSON clients (2**53 - 1).
METADATA_MAX_INTEGER = 9007199254740991
PAN_REFUSED = "Looks like a card number (PAN); send a token or card reference instead."


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses fields it does not know, so a typo is an error instead of silently ignored.

    DRF deep-copies every declared field for every instance (about a millisecond here, more
    than the whole decision). Field objects hold no per-request state, so each thread keeps
    one copy per serializer class and re-binds it to each new instance.
    """

    _thread_fields = threading.local()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        cache: dict[type, dict[str, Any]] = self._thread_fields.__dict__.setdefault("cache", {})
        fields = cache.get(type(self))
        if fields is None:
            fields = cache[type(self)] = super().get_fields()
        for name, field in fields.items():
            if field.source == name:  # set by the last bind(); bind() refuses to see it again
                field.source = None
        return fields

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors: dict[str, Any] = {field: ["Unknown field."] for field in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            errors.update(exc.detail)
        if errors:
            raise serializers.ValidationError(errors)
        return value


@extend_schema_field(OpenApiTypes.DATETIME)
class OffsetDateTimeField(serializers.Field[datetime, str, str, Any]):
    """ISO-8601 with a UTC offset ('Z' or '+02:00'); a naive time is ambiguous and refused."""

    default_error_messages = {
        "invalid": "Expected an ISO-8601 date-time with offset, e.g. 2026-11-24T10:00:00+01:00.",
        "naive": "The date-time has no UTC offset; add 'Z' or '+HH:MM'.",
        "out_of_range": "The date-time is out of range.",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            value = datetime.fromisoformat(data)
        except ValueError:
            self.fail("invalid")
        if value.tzinfo is None or value.utcoffset() is None:
            self.fail("naive")
        try:
            value.astimezone(UTC)  # year 1 at +01:00 is a BC date in UTC: nothing can store it
        except OverflowError:
            self.fail("out_of_range")
        return value

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def _refuse_pan(value: str) -> None:
    if contains_pan(value):
        raise serializers.ValidationError(PAN_REFUSED)


class StringOnlyMixin:
    """A JSON string and nothing else: DRF's CharField would turn 42 into "42", which the
    schema (type: string) does not allow."""

    default_error_messages: ClassVar[dict[str, StrOrPromise]] = {
        "not_a_string": "Expected a string."
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")  # type: ignore[attr-defined]
        value: str = super().to_internal_value(data)  # type: ignore[misc]
        return value


class FreeTextField(StringOnlyMixin, serializers.CharField):
    """Text an integrator chooses (ids, categories): never a card number, in any spelling.

    DRF's CharField already refuses NUL and lone surrogates, which PostgreSQL cannot store.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_length", 1)
        super().__init__(**kwargs)
        self.validators.append(_refuse_pan)


class FreeTextEmailField(StringOnlyMixin, serializers.EmailField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(_refuse_pan)


class IPField(StringOnlyMixin, serializers.IPAddressField):
    pass


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "pattern": r"^\d{1,15}(?:\.\d{1,3})?$"},
            {"type": "number", "minimum": 0.001, "maximum": 999999999999999},
        ],
        "description": "At least 0.001, with at most the currency's decimal places.",
        "example": "49.90",
    }
)
class AmountField(serializers.DecimalField):
    """A positive amount, as a JSON string (preferred: exact) or number."""

    def __init__(self) -> None:
        super().__init__(max_digits=18, decimal_places=3, min_value=Decimal("0.001"))

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        value: Decimal = super().to_internal_value(data)
        return value


def occurred_within_window(value: datetime) -> None:
    """Between ``DECISION_MAX_AGE_DAYS`` in the past (back-filled history) and 24 h ahead."""
    now = timezone.now()
    if value > now + MAX_FUTURE:
        raise serializers.ValidationError("Is more than 24 hours in the future.")
    if value < now - timedelta(days=settings.DECISION_MAX_AGE_DAYS):
        raise serializers.ValidationError(
            f"Is more than {settings.DECISION_MAX_AGE_DAYS} days in the past."
        )


_METADATA_VALUE_SCHEMA = {
    "nullable": True,
    "anyOf": [
        {"type": "string", "maxLength": METADATA_MAX_TEXT_LENGTH},
        {"type": "number", "minimum": -METADATA_MAX_INTEGER, "maximum": METADATA_MAX_INTEGER},
        {"type": "boolean"},
    ],
}


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": METADATA_MAX_KEYS,
        "additionalProperties": _METADATA_VALUE_SCHEMA,
        "description": (
            f"Flat key/value pairs: at most {METADATA_MAX_KEYS} keys of at most "
            f"{METADATA_MAX_KEY_LENGTH} characters; each value a string of at most "
            f"{METADATA_MAX_TEXT_LENGTH} characters, a finite number, a boolean or null. "
            "No card numbers."
        ),
    }
)
class MetadataField(serializers.Field[dict[str, Any], dict[str, Any], dict[str, Any], Any]):
    """Flat, bounded key/value pairs that every database stores and reads back as sent."""

    default_error_messages = {
        "not_an_object": "Expected a JSON object of key/value pairs.",
        "too_many": f"At most {METADATA_MAX_KEYS} keys.",
    }

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_an_object")
        if len(data) > METADATA_MAX_KEYS:
            self.fail("too_many")
        errors = {
            key: [problem]
            for key, value in data.items()
            if (problem := metadata_problem(key, value)) is not None
        }
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return value


def _text_problem(text: str, limit: int) -> str | None:
    if not text or len(text) > limit:
        return f"Must be 1 to {limit} characters."
    if "\x00" in text or any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        return "Contains a NUL character or a lone surrogate."
    if contains_pan(text):
        return PAN_REFUSED
    return None


def metadata_problem(key: str, value: Any) -> str | None:
    """Why one metadata entry is refused, or None when it is fine."""
    key_problem = _text_problem(key, METADATA_MAX_KEY_LENGTH)
    if key_problem is not None:
        return f"Key: {key_problem}"
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return None if value == "" else _text_problem(value, METADATA_MAX_TEXT_LENGTH)
    if isinstance(value, int):
        if abs(value) > METADATA_MAX_INTEGER:
            return f"Integers must be within ±{METADATA_MAX_INTEGER}."
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > METADATA_MAX_INTEGER:
            return f"Numbers must be finite and within ±{METADATA_MAX_INTEGER}."
        return None
    return "Must be a string, a number, a boolean or null (no nested objects or arrays)."


class TransactionInSerializer(StrictSerializer):
    """A payment to decide. Unknown fields are refused; optional fields may be left out."""

    transaction_id = FreeTextField(max_length=64)
    occurred_at = OffsetDateTimeField(validators=[occurred_within_window])
    amount = AmountField()
    currency = serializers.ChoiceField(
        choices=sorted(CURRENCIES),
        error_messages={"invalid_choice": "Unknown ISO 4217 currency code {input!r}."},
    )
    customer_id = FreeTextField(max_length=64)
    merchant_id = FreeTextField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    card_id = FreeTextField(max_length=64, required=False)
    merchant_category = FreeTextField(max_length=32, required=False)
    country = serializers.ChoiceField(
        choices=sorted(COUNTRIES),
        required=False,
        error_messages={"invalid_choice": "Unknown ISO 3166-1 alpha-2 country {input!r}."},
    )
    ip = IPField(required=False)
    device_id = FreeTextField(max_length=128, required=False)
    email = FreeTextEmailField(max_length=254, required=False)
    payee_id = FreeTextField(max_length=64, required=False)
    metadata = MetadataField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        places = minor_units(attrs["currency"])
        exponent = attrs["amount"].normalize().as_tuple().exponent
        assert isinstance(exponent, int)  # NaN and infinities were refused by DecimalField
        if -exponent > places:
            raise serializers.ValidationError(
                {"amount": [f"{attrs['currency']} allows at most {places} decimal places."]}
            )
        return attrs


class ReasonSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    text = serializers.CharField()
    contribution = serializers.FloatField(allow_null=True)


class RuleFiredSerializer(serializers.Serializer[Any]):
    rule = serializers.CharField()
    version = serializers.IntegerField()
    action = serializers.CharField()


class RuleFiredRecordSerializer(RuleFiredSerializer):
    expression = serializers.CharField()


class DecisionOutSerializer(serializers.ModelSerializer[Decision]):
    decision_id = serializers.UUIDField(source="id")
    transaction_id = serializers.CharField(source="transaction.transaction_id")
    reasons = ReasonSerializer(many=True)
    rules = RuleFiredSerializer(many=True)

    class Meta:
        model = Decision
        fields = [
            "decision_id",
            "transaction_id",
            "outcome",
            "score",
            "reasons",
            "rules",
            "model_version",
            "degraded",
            "latency_ms",
        ]


class TransactionRecordSerializer(serializers.ModelSerializer[Transaction]):
    """A stored transaction: its facts as the model stores them, and its metadata."""

    metadata = serializers.DictField(read_only=True)

    class Meta:
        model = Transaction
        # Every fact but the e-mail's domain (the record never showed it), in their order.
        fields = [*(name for name in FACT_NAMES if name != "email_domain"), "metadata"]
        read_only_fields = fields


class ThresholdsSerializer(serializers.Serializer[Any]):
    review = serializers.FloatField()
    decline = serializers.FloatField()


class DecisionRecordSerializer(DecisionOutSerializer):
    """The full record of a decision: what it decided and everything that produced it."""

    rules = RuleFiredRecordSerializer(many=True)
    transaction = TransactionRecordSerializer()
    thresholds = ThresholdsSerializer()
    features = serializers.DictField(child=serializers.FloatField(allow_null=True))

    class Meta(DecisionOutSerializer.Meta):
        fields = [
            *DecisionOutSerializer.Meta.fields,
            "transaction",
            "thresholds",
            "features",
            "list_hits",
            "rule_errors",
            "policy_revision",
            "timings_ms",
            "created_at",
        ]


class LabelInSerializer(StrictSerializer):
    """What became of a decided transaction: a chargeback, or the integrator's own finding."""

    transaction_id = FreeTextField(max_length=64)
    # `label` and `source` shadow attributes of DRF's Field in the stubs, not at run time.
    label = serializers.ChoiceField(choices=Label.choices)  # type: ignore[assignment]
    source = serializers.ChoiceField(choices=[LabelSource.CHARGEBACK, LabelSource.INTEGRATOR])  # type: ignore[assignment]
    reported_at = OffsetDateTimeField(required=False, validators=[occurred_within_window])


class ErrorSerializer(serializers.Serializer[Any]):
    """Every error body: a stable code and a sentence (see scoring/errors.py)."""

    code = serializers.CharField()
    detail = serializers.CharField()


BAD_REQUEST_CODES = ["invalid", "parse_error"]


class ValidationErrorSerializer(ErrorSerializer):
    """A 400: ``invalid`` names each field and why; ``parse_error`` is a body that is not JSON."""

    code = serializers.ChoiceField(choices=BAD_REQUEST_CODES)  # type: ignore[assignment]
    # Field name → reasons (a list of sentences, or per key for metadata); with "invalid".
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(), required=False
    )


class LabelOutSerializer(serializers.Serializer[Any]):
    label_id = serializers.IntegerField(source="id")
    transaction_id = serializers.CharField(source="transaction.transaction_id")
    label = serializers.CharField()  # type: ignore[assignment]
    source = serializers.CharField()  # type: ignore[assignment]
    reported_at = serializers.DateTimeField()
