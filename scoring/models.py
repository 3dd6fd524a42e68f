"""Integrators, transactions, decisions and labels."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from rules import policy as core
from scoring import threshold_choice
from scoring.features.catalogue import CHANNEL_WORDS
from scoring.records import (
    FeaturesRecord,
    ListHitRecord,
    ReasonRecord,
    RuleFiredRecord,
    ShadowRuleRecord,
    ThresholdsRecord,
    TimingsRecord,
)


class Integrator(models.Model):
    """A system that calls the decision API (a PSP, a merchant's backend)."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Its issuers' chargeback window: NULL takes settings.LABEL_MATURITY_DAYS.
    label_maturity_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Days after which a payment with no fraud label counts as legitimate "
        "(empty: the LABEL_MATURITY_DAYS setting).",
    )

    def __str__(self) -> str:
        return self.name

    # DRF treats the authenticated principal as a user; an integrator is always authenticated.
    @property
    def is_authenticated(self) -> bool:
        return True


class ApiKey(models.Model):
    """An integrator's API key. Only a SHA-256 of the key is stored; the key is shown once."""

    integrator = models.ForeignKey(Integrator, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(
        max_length=16, help_text="The key's first characters, to tell keys apart."
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.integrator})"


class Channel(models.TextChoices):
    """The code is stored and sent; the label is the channel in words (the catalogue's)."""

    POS = "pos", CHANNEL_WORDS["pos"]
    ECOM = "ecom", CHANNEL_WORDS["ecom"]
    WALLET = "wallet", CHANNEL_WORDS["wallet"]
    TRANSFER = "transfer", CHANNEL_WORDS["transfer"]
    ATM = "atm", CHANNEL_WORDS["atm"]


class Outcome(models.TextChoices):
    """The stored choices of :class:`rules.policy.Outcome`, which defines the values."""

    APPROVE = core.Outcome.APPROVE.value
    REVIEW = core.Outcome.REVIEW.value
    DECLINE = core.Outcome.DECLINE.value


class Transaction(models.Model):
    """A payment as the integrator sent it (no card number, the e-mail only as a keyed hash)."""

    integrator = models.ForeignKey(Integrator, on_delete=models.PROTECT)
    transaction_id = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    # The offset the integrator sent with occurred_at: local time (hour of day) depends on it.
    utc_offset_minutes = models.SmallIntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    currency = models.CharField(max_length=3)
    customer_id = models.CharField(max_length=64)
    merchant_id = models.CharField(max_length=64)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    card_id = models.CharField(max_length=64, blank=True, default="")
    merchant_category = models.CharField(max_length=32, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    device_id = models.CharField(max_length=128, blank=True, default="")
    email_hash = models.CharField(max_length=64, blank=True, default="")
    email_domain = models.CharField(max_length=253, blank=True, default="")
    payee_id = models.CharField(max_length=64, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    # SHA-256 of the canonical request: a retry must carry the same body.
    request_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integrator", "transaction_id"], name="transaction_unique_per_integrator"
            )
        ]
        indexes = [
            models.Index(fields=["customer_id", "occurred_at"]),
            models.Index(fields=["card_id", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
            # A back-filled transaction's cold values read its entities' rows (cold_lookup.py).
            models.Index(fields=["merchant_id", "occurred_at"], name="transaction_merchant_time"),
            models.Index(fields=["device_id", "occurred_at"], name="transaction_device_time"),
            models.Index(fields=["ip", "occurred_at"], name="transaction_ip_time"),
        ]

    def __str__(self) -> str:
        return self.transaction_id


class Decision(models.Model):
    """What was decided for a transaction, and everything that produced it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    transaction = models.OneToOneField(
        Transaction, on_delete=models.PROTECT, related_name="decision"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    score = models.FloatField(null=True, blank=True)
    reasons: models.JSONField[list[ReasonRecord], list[ReasonRecord]] = models.JSONField(
        default=list
    )
    rules: models.JSONField[list[RuleFiredRecord], list[RuleFiredRecord]] = models.JSONField(
        default=list, help_text="Each rule that fired: name, version, action and expression."
    )
    rule_errors: models.JSONField[list[str], list[str]] = models.JSONField(default=list)
    shadow_rules: models.JSONField[list[ShadowRuleRecord], list[ShadowRuleRecord]] = (
        models.JSONField(
            default=list,
            blank=True,
            help_text="Each rule that fired in shadow (acting on nothing): name, version, action.",
        )
    )
    list_hits: models.JSONField[list[ListHitRecord], list[ListHitRecord]] = models.JSONField(
        default=list
    )
    features: models.JSONField[FeaturesRecord, FeaturesRecord] = models.JSONField(default=dict)
    # The version of the feature definitions ``features`` was computed with
    # (scoring.features.definitions.FEATURE_SET_VERSION): training recomputes older ones.
    feature_set_version = models.PositiveSmallIntegerField(default=1)
    # What lists and rules alone said, before any model (the baseline training compares with).
    rules_outcome = models.CharField(max_length=16, choices=Outcome.choices, default="approve")
    thresholds: models.JSONField[ThresholdsRecord, ThresholdsRecord] = models.JSONField(
        default=dict
    )
    policy_revision = models.PositiveIntegerField()
    # NULL, not '': no model ran for this decision.
    model_version = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    degraded = models.BooleanField(default=False)
    # The model scored an approval and its reasons are computed right after it is stored.
    reasons_pending = models.BooleanField(default=False)
    # When the cold (batch) features it used were computed; NULL: none were published yet.
    cold_as_of = models.DateTimeField(null=True, blank=True)
    latency_ms = models.FloatField()
    timings_ms: models.JSONField[TimingsRecord, TimingsRecord] = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["outcome", "created_at"]),
            models.Index(
                fields=["created_at"],
                condition=models.Q(reasons_pending=True),
                name="decision_reasons_pending",
            ),
            # The per-rule page (rules/performance.py) reads the decisions a rule fired on:
            # as many index entries as hits, not every (wide) row of the period.
            models.Index(
                fields=["transaction"],
                condition=~models.Q(rules=[]),
                name="decision_with_rule_hits",
            ),
            models.Index(
                fields=["transaction"],
                condition=~models.Q(shadow_rules=[]),
                name="decision_with_shadow_hits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} {self.id}"


class Label(models.TextChoices):
    FRAUD = "fraud"
    LEGIT = "legit"


class LabelSource(models.TextChoices):
    CHARGEBACK = "chargeback"
    INTEGRATOR = "integrator"
    ANALYST = "analyst"


class LabelEvent(models.Model):
    """An append-only fact: someone said this transaction was fraud or legitimate."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="labels")
    label = models.CharField(max_length=8, choices=Label.choices)
    source = models.CharField(max_length=16, choices=LabelSource.choices)
    reported_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["transaction", "reported_at"])]
        constraints = [
            # The same fact reported twice (a retried POST) is stored once.
            models.UniqueConstraint(
                fields=["transaction", "label", "source", "reported_at"], name="label_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.source})"


class ModelStatus(models.TextChoices):
    """A model version's place in the learning loop (scoring/lifecycle.py moves it).

    candidate (trained, not yet used) → shadow (scores live decisions beside the champion,
    and decides a canary share if one is set) → champion (decides) → retired (a champion
    replaced; rollback brings it back); a candidate or shadow can be rejected instead.
    """

    CANDIDATE = "candidate"
    SHADOW = "shadow"
    CHAMPION = "champion"
    RETIRED = "retired"
    REJECTED = "rejected"


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def champion(self) -> ModelVersion | None:
        """The version that decides (the lifecycle keeps one; the newest, should two be)."""
        return self.filter(status=ModelStatus.CHAMPION).order_by("-pk").first()

    def previous_champions(self) -> ModelVersionQuerySet:
        """Retired versions that once decided, the most recently promoted first: the first is
        the champion a rollback brings back."""
        return self.filter(status=ModelStatus.RETIRED, promoted_at__isnull=False).order_by(
            "-promoted_at", "-pk"
        )


class ModelVersion(models.Model):
    """A trained model: its file, the ordered features it expects, and how well it did."""

    name = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=500, help_text="The LightGBM model file.")
    # Serving loads the file only if its bytes have this hash: a truncated or altered file is
    # refused (decisions are then degraded) instead of being parsed. Blank: never loads.
    sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the model file, as training wrote it."
    )
    # [{"name": ..., "type": "number"}, ...] in the order the model takes them.
    features: models.JSONField[Any] = models.JSONField()
    # Isotonic calibration of the raw score: {"x": [...], "y": [...]} for interpolation.
    calibration: models.JSONField[Any] = models.JSONField()
    params: models.JSONField[Any] = models.JSONField(default=dict)
    metrics: models.JSONField[Any] = models.JSONField(default=dict)
    trained_from = models.DateTimeField()
    trained_until = models.DateTimeField()
    data_hash = models.CharField(max_length=64)
    # The version of the feature definitions it was trained on (FEATURE_SET_VERSION).
    feature_set_version = models.PositiveSmallIntegerField(default=1)
    # How its training rows were labelled (scoring.label_reads.LabelCoverage.as_json()).
    label_coverage: models.JSONField[Any] = models.JSONField(default=dict)
    # Its validation window over a grid of score thresholds, what a threshold recommendation
    # reads (scoring.threshold_choice.ThresholdCurve); {}: trained before it was kept.
    threshold_curve: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.CANDIDATE, db_index=True
    )
    # While in shadow: the share of live traffic (0..1, a stable hash of the transaction id)
    # this version decides instead of the champion. 0: shadow only.
    canary_share = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)  # when it last became champion

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        # Who may change which model decides (scoring/lifecycle.py): leads and admins.
        permissions = [("manage_models", "Can promote, roll back, canary and reject models")]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="champion"),
                name="one_champion_model_version",
            ),
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="shadow"),
                name="one_shadow_model_version",
            ),
            models.CheckConstraint(
                condition=models.Q(canary_share__gte=0.0, canary_share__lte=1.0),
                name="model_version_canary_share_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ShadowScore(models.Model):
    """A score given to a live decision by a model that did not decide it: the challenger in
    shadow (or the champion, for a decision the challenger decided as a canary). Written by
    a worker after the decision committed, never on the request path."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="shadow_scores")
    model_version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE)
    score = models.FloatField()
    # The outcome this score would have given with the decision's own rules and thresholds.
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "model_version"], name="one_shadow_score_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model_version_id}: {self.score:.3f} ({self.outcome})"


class DriftReport(models.Model):
    """How far recent decisions' features and scores moved from a reference window (PSI)."""

    created_at = models.DateTimeField(auto_now_add=True)
    # NULL, not '': no model was active.
    model_version = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    reference_from = models.DateTimeField()
    reference_until = models.DateTimeField()
    current_from = models.DateTimeField()
    current_until = models.DateTimeField()
    reference_decisions = models.PositiveIntegerField()
    current_decisions = models.PositiveIntegerField()
    # {"feature or 'score'": psi}
    psi: models.JSONField[Any] = models.JSONField(default=dict)
    shifted: models.JSONField[Any] = models.JSONField(
        default=list,
        help_text="Names whose PSI reached their bar (0.2; 0.1 for the score), largest first.",
    )
    # What raised the alert: the shifted among the score and the champion's top features
    # (scoring.drift.TOP_FEATURES); the staff pages' banner and fraudops_drift_alert show it.
    alerts: models.JSONField[Any] = models.JSONField(
        default=list, help_text="Shifted names that raise an alert: the score, top features."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"drift {self.created_at:%Y-%m-%d %H:%M} ({len(self.shifted)} shifted)"


class ThresholdCosts(models.Model):
    """What thresholds are recommended from (scoring.threshold_choice): the cost of a review,
    the analysts' capacity and the ceiling on declined legit payments. One row (pk=1); the
    fraud loss is each transaction's amount."""

    review_cost = models.FloatField(
        default=5.0,
        validators=[MinValueValidator(0.0)],
        help_text="What one analyst review costs, in the transactions' currency.",
    )
    reviews_per_day = models.PositiveIntegerField(
        default=500, help_text="How many reviews the analysts can do per day."
    )
    decline_fpr_ceiling = models.FloatField(
        default=0.002,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="The largest share of legitimate payments that may be declined (0.002: 0.2%).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "threshold costs"

    def __str__(self) -> str:
        return (
            f"review {self.review_cost:g}, {self.reviews_per_day}/day, "
            f"decline FPR ≤ {self.decline_fpr_ceiling:.2%}"
        )

    def as_costs(self) -> threshold_choice.Costs:
        return threshold_choice.Costs(
            review_cost=self.review_cost,
            reviews_per_day=float(self.reviews_per_day),
            decline_fpr_ceiling=self.decline_fpr_ceiling,
        )
