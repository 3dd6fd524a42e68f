"""Cases: a challenged decision that an analyst works, its queue, and everything done to it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models

from rules.policy import ListEntity
from scoring.models import Decision
from scoring.transaction import LIST_VALUES


class Queue(models.Model):
    """Where cases wait. A review decision goes to the first queue (by ``position``) whose
    conditions all hold; a queue with no conditions takes everything that reaches it."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=100, help_text="Routing order.")
    sla_minutes = models.PositiveIntegerField(default=60)
    match_rule = models.CharField(
        max_length=64, blank=True, help_text="Route when this rule fired (its name)."
    )
    match_channel = models.CharField(max_length=16, blank=True)
    min_amount = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    max_amount = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    analysts = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="case_queues",
        help_text="Who works this queue; nobody listed: every analyst.",
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def matches(self, *, rules: set[str], channel: str, amount: Decimal) -> bool:
        if self.match_rule and self.match_rule not in rules:
            return False
        if self.match_channel and self.match_channel != channel:
            return False
        if self.min_amount is not None and amount < self.min_amount:
            return False
        return self.max_amount is None or amount < self.max_amount


class CaseStatus(models.TextChoices):
    OPEN = "open"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    DECIDED = "decided"


# The statuses of a case still waiting for a verdict: what queues, exports and backlogs count.
ACTIVE = (CaseStatus.OPEN, CaseStatus.CLAIMED, CaseStatus.ESCALATED)


class Verdict(models.TextChoices):
    FRAUD = "fraud"
    LEGIT = "legit"
    INCONCLUSIVE = "inconclusive"


# What a verdict can put on the block list: list entity → the transaction's column holding it.
BLOCKABLE: dict[str, str] = {
    entity: LIST_VALUES[entity]
    for entity in (ListEntity.CARD, ListEntity.DEVICE, ListEntity.IP, ListEntity.EMAIL)
}


class Case(models.Model):
    decision = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="case")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    priority = models.IntegerField(help_text="Higher is worked first (from score and amount).")
    sla_due_at = models.DateTimeField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    verdict_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [
            ("work_case", "Can work cases: claim, look at evidence, give verdicts"),
            ("lead_case", "Can reassign, escalate, bulk-decide and export cases"),
            ("view_kpis", "Can see the KPI dashboards"),
        ]
        indexes = [
            # The queue page and "next case": open work by priority.
            models.Index(
                fields=["queue", "-priority", "created_at"],
                condition=models.Q(status__in=["open", "claimed", "escalated"]),
                name="case_open_by_priority",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=models.Q(status="claimed"),
                name="case_claimed_lease",
            ),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.status})"


class CaseEvent(models.Model):
    """Every change of a case: who, when, from, to, why. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )  # None: the system (a lease expired, the case was opened)
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    from_assignee = models.CharField(max_length=150, blank=True)
    to_assignee = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} on case {self.case_id}"


class CaseComment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"comment on case {self.case_id}"
