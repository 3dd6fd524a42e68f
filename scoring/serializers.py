"""The decision API's request and response shapes (validation only: no logic here)."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from scoring.currencies import COUNTRIES, CURRENCIES, minor_units
from scoring.models import Channel, Decision, Label
from scoring.pii import looks_like_pan

MAX_METADATA_BYTES = 4096
MAX_FUTURE = timedelta(hours=24)


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
        return value

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class TransactionInSerializer(StrictSerializer):
    transaction_id = serializers.CharField(max_length=64)
    occurred_at = OffsetDateTimeField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=3, min_value=Decimal("0.001"))
    currency = serializers.CharField(min_length=3, max_length=3)
    customer_id = serializers.CharField(max_length=64)
    merchant_id = serializers.CharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)
    card_id = serializers.CharField(max_length=64, required=False)
    merchant_category = serializers.CharField(max_length=32, required=False)
    country = serializers.CharField(min_length=2, max_length=2, required=False)
    ip = serializers.IPAddressField(required=False)
    device_id = serializers.CharField(max_length=128, required=False)
    email = serializers.EmailField(max_length=254, required=False)
    payee_id = serializers.CharField(max_length=64, required=False)
    metadata = serializers.DictField(required=False)

    def validate_occurred_at(self, value: datetime) -> datetime:
        if value > timezone.now() + MAX_FUTURE:
            raise serializers.ValidationError("Is more than 24 hours in the future.")
        return value

    def validate_currency(self, value: str) -> str:
        if value not in CURRENCIES:
            raise serializers.ValidationError(f"Unknown ISO 4217 currency code {value!r}.")
        return value

    def validate_country(self, value: str) -> str:
        if value not in COUNTRIES:
            raise serializers.ValidationError(f"Unknown ISO 3166-1 alpha-2 country {value!r}.")
        return value

    def validate_card_id(self, value: str) -> str:
        if looks_like_pan(value):
            raise serializers.ValidationError(
                "Looks like a card number (PAN); send a token or card reference instead."
            )
        return value

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value, separators=(",", ":")).encode()) > MAX_METADATA_BYTES:
            raise serializers.ValidationError("Must be at most 4 KB as JSON.")
        return value

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


class TransactionRecordSerializer(serializers.Serializer[Any]):
    transaction_id = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=3)
    currency = serializers.CharField()
    customer_id = serializers.CharField()
    merchant_id = serializers.CharField()
    channel = serializers.CharField()
    card_id = serializers.CharField()
    merchant_category = serializers.CharField()
    country = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    device_id = serializers.CharField()
    email_hash = serializers.CharField()
    payee_id = serializers.CharField()
    metadata = serializers.DictField()


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
    transaction_id = serializers.CharField(max_length=64)
    # `label` and `source` shadow attributes of DRF's Field in the stubs, not at run time.
    label = serializers.ChoiceField(choices=Label.choices)  # type: ignore[assignment]
    source = serializers.ChoiceField(choices=["chargeback", "integrator"])  # type: ignore[assignment]
    reported_at = OffsetDateTimeField(required=False)

    def validate_reported_at(self, value: datetime) -> datetime:
        if value > timezone.now() + MAX_FUTURE:
            raise serializers.ValidationError("Is more than 24 hours in the future.")
        return value


class LabelOutSerializer(serializers.Serializer[Any]):
    label_id = serializers.IntegerField(source="id")
    transaction_id = serializers.CharField(source="transaction.transaction_id")
    label = serializers.CharField()  # type: ignore[assignment]
    source = serializers.CharField()  # type: ignore[assignment]
    reported_at = serializers.DateTimeField()
