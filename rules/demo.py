"""The demo's starting policy: a few rules a fraud team would write on day one."""

from __future__ import annotations

from rules.models import ListEntry, Rule, ScoreThresholds
from rules.services import list_entry_create, rule_save, thresholds_set

DEMO_RULES: list[tuple[str, str, str, str]] = [
    (
        "card_testing_burst",
        "card_txn_count_1m >= 5",
        "decline",
        "The card was used 5 or more times in the last minute (card testing).",
    ),
    (
        "card_many_merchants",
        "card_distinct_merchants_24h >= 5 and amount < 5",
        "review",
        "Small amount on a card seen at 5+ merchants today.",
    ),
    (
        "new_device_high_amount",
        "device_new_for_customer == 1 and amount > 300",
        "review",
        "High amount from a device never seen for this customer.",
    ),
    (
        "amount_far_above_usual",
        "customer_amount_zscore > 4 and amount > 200",
        "review",
        "Amount far above this customer's usual spending.",
    ),
    (
        "merchant_spike",
        "merchant_txn_count_1m >= 15",
        "review",
        "The merchant had 15 or more transactions in the last minute.",
    ),
    (
        "huge_amount",
        "amount > 10000",
        "decline",
        "Amount over 10,000.",
    ),
]


def demo_policy_seed() -> None:
    """Create the demo rules, a block-list entry and thresholds, once."""
    for name, expression, action, description in DEMO_RULES:
        if not Rule.objects.filter(name=name).exists():
            rule = Rule(name=name, expression=expression, action=action, description=description)
            rule_save(rule=rule)
    if not ListEntry.objects.filter(entity="ip", value="192.0.2.66").exists():
        list_entry_create(
            list_type="block", entity="ip", value="192.0.2.66", reason="Known bot network"
        )
    if not ScoreThresholds.objects.exists():
        thresholds_set(review_at=0.5, decline_at=0.9)
