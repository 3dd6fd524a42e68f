"""Rules, allow/block lists and score thresholds: the policy admins edit.

Every change goes through ``rules.services`` which bumps :class:`PolicyRevision`, so each worker
notices within a second and each decision records the revision it was made under.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from rules import policy
from rules.engine import ROLLOUT_NEEDS_PERCENT, Action
from rules.engine import RuleMode as EngineRuleMode
from rules.policy import THRESHOLDS_INVERTED, InvertedThresholds, Thresholds


class RuleAction(models.TextChoices):
    """The stored choices of :class:`rules.engine.Action`, which defines the values."""

    ALLOW = Action.ALLOW.value
    REVIEW = Action.REVIEW.value
    DECLINE = Action.DECLINE.value
    DECLINE_REVIEW = Action.DECLINE_REVIEW.value, "decline and open a case"


ONLY_ROLLOUT_HAS_PERCENT = "Only a rollout acts on a percentage: clear it, or choose rollout."


class RuleMode(models.TextChoices):
    """The stored choices of :class:`rules.engine.RuleMode`, which defines the values."""

    LIVE = EngineRuleMode.LIVE.value, "live: acts on every transaction"
    SHADOW = EngineRuleMode.SHADOW.value, "shadow: runs on every transaction, acts on none"
    ROLLOUT = EngineRuleMode.ROLLOUT.value, "rollout: acts on a share of transactions"
    DISABLED = EngineRuleMode.DISABLED.value, "disabled: does not run"


def _rollout_percent_field() -> models.PositiveSmallIntegerField[int | None, int | None]:
    return models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="For a rollout: the share of transactions it acts on, 1 to 99 %, the same "
        "ones every time (a hash of the transaction). It runs in shadow on the rest.",
    )


def _rollout_consistent(prefix: str) -> models.CheckConstraint:
    """A rollout has a percentage in 1..99; any other mode has none."""
    return models.CheckConstraint(
        condition=(
            models.Q(mode=RuleMode.ROLLOUT, rollout_percent__gte=1, rollout_percent__lte=99)
            | (~models.Q(mode=RuleMode.ROLLOUT) & models.Q(rollout_percent__isnull=True))
        ),
        name=f"{prefix}_rollout_percent_with_rollout",
        violation_error_message=ROLLOUT_NEEDS_PERCENT,
    )


class Rule(models.Model):
    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-z][a-z0-9_]*$", "Use lowercase letters, digits and _.")],
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="Shown to analysts as the reason when it fires."
    )
    expression = models.TextField(help_text="e.g. card_txn_count_1m >= 5 and amount > 500")
    action = models.CharField(max_length=16, choices=RuleAction.choices)
    mode = models.CharField(max_length=8, choices=RuleMode.choices, default=RuleMode.LIVE)
    rollout_percent = _rollout_percent_field()
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [_rollout_consistent("rule")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def clean(self) -> None:
        rollout = self.mode == RuleMode.ROLLOUT
        if rollout and self.rollout_percent is None:
            raise ValidationError({"rollout_percent": ROLLOUT_NEEDS_PERCENT})
        if not rollout and self.rollout_percent is not None:
            raise ValidationError({"rollout_percent": ONLY_ROLLOUT_HAS_PERCENT})


class ImmutableVersion(Exception):
    """An attempt to change a published version (a rule version, a published draft)."""


class RuleVersion(models.Model):
    """What a rule was at each version, so a decision's rule can always be looked up."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    expression = models.TextField()
    action = models.CharField(max_length=16, choices=RuleAction.choices)
    description = models.CharField(max_length=200, blank=True)
    mode = models.CharField(max_length=8, choices=RuleMode.choices, default=RuleMode.LIVE)
    rollout_percent = _rollout_percent_field()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "version"], name="rule_version_unique"),
            _rollout_consistent("rule_version"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.name} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableVersion("a rule version cannot be changed")
        super().save(*args, **kwargs)


class ListType(models.TextChoices):
    """The stored choices of :class:`rules.policy.ListType`, which defines the values."""

    ALLOW = policy.ListType.ALLOW.value
    BLOCK = policy.ListType.BLOCK.value


class ListEntity(models.TextChoices):
    """The stored choices of :class:`rules.policy.ListEntity`, which defines the values."""

    CARD = policy.ListEntity.CARD.value
    CUSTOMER = policy.ListEntity.CUSTOMER.value
    DEVICE = policy.ListEntity.DEVICE.value
    IP = policy.ListEntity.IP.value
    EMAIL = policy.ListEntity.EMAIL.value, "e-mail (stored as a keyed hash)"
    COUNTRY = policy.ListEntity.COUNTRY.value
    MERCHANT = policy.ListEntity.MERCHANT.value


class ListEntry(models.Model):
    list_type = models.CharField(max_length=8, choices=ListType.choices)
    entity = models.CharField(max_length=16, choices=ListEntity.choices)
    value = models.CharField(max_length=128, help_text="For e-mail: the keyed hash.")
    reason = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name_plural = "list entries"
        constraints = [
            models.UniqueConstraint(
                fields=["list_type", "entity", "value"], name="list_entry_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.list_type} {self.entity} {self.value}"


class ScoreThresholds(models.Model):
    """The score cut-offs in force. One row (pk=1)."""

    review_at = models.FloatField(
        default=0.5, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    decline_at = models.FloatField(
        default=0.9, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "score thresholds"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(review_at__lte=models.F("decline_at")),
                name="thresholds_review_not_above_decline",
                violation_error_message=THRESHOLDS_INVERTED,
            )
        ]

    def __str__(self) -> str:
        return f"review ≥ {self.review_at}, decline ≥ {self.decline_at}"

    def clean(self) -> None:
        try:
            Thresholds.check(self.review_at, self.decline_at)
        except InvertedThresholds as exc:
            raise ValidationError({"review_at": str(exc)}) from exc


class PolicyRevision(models.Model):
    """A counter bumped on every policy change; workers reload when it moves. One row (pk=1)."""

    revision = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"revision {self.revision}"


class DraftStatus(models.TextChoices):
    DRAFT = "draft"
    PUBLISHED = "published"
    DISCARDED = "discarded"


class PolicyDraft(models.Model):
    """Proposed changes to the policy (rules, thresholds, list entries) that go live only when
    a second person publishes them. The shape of ``changes`` is
    :class:`rules.draft_changes.Changes`; a published draft keeps ``diff`` (what it changed,
    before → after) and ``snapshot`` (the rules and thresholds in force after it), from which
    a rollback publishes it again."""

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="policy_drafts"
    )
    reason = models.TextField(blank=True, help_text="Why: recorded with the publish.")
    status = models.CharField(
        max_length=16, choices=DraftStatus.choices, default=DraftStatus.DRAFT, db_index=True
    )
    changes: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rollbacks"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="policy_drafts_published",
    )
    published_revision = models.PositiveIntegerField(null=True, blank=True)
    diff: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    snapshot: models.JSONField[Any] = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("publish_policy", "Can publish a policy draft someone else wrote")]

    def __str__(self) -> str:
        return f"draft #{self.pk} ({self.status})"


class BacktestStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PolicyBacktest(models.Model):
    """A draft's backtest: the published policy and the draft applied on it re-deciding the
    same stored decisions. ``content_hash`` is the draft's content it tested (a later edit of
    the draft needs a new backtest before it can be published); ``result`` is
    :class:`scoring.backtest.BacktestResult` as JSON."""

    draft = models.ForeignKey(PolicyDraft, on_delete=models.CASCADE, related_name="backtests")
    content_hash = models.CharField(max_length=64)
    days = models.PositiveIntegerField(default=30)
    status = models.CharField(
        max_length=16, choices=BacktestStatus.choices, default=BacktestStatus.QUEUED
    )
    progress = models.FloatField(default=0.0)  # 0..1
    error = models.TextField(blank=True)
    result: models.JSONField[Any] = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"backtest #{self.pk} of draft #{self.draft_id} ({self.status})"
