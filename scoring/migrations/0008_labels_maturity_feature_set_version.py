"""Label maturity per integrator; the feature-set version of decisions and models; the rules'
own verdict on each decision; a model's label coverage.

Decisions stored before this recorded their features with the first feature set (version 1).
Their rules' verdict is backfilled from what they stored: with no model, the outcome is the
rules' own; when a model ran, lists and rules had settled nothing, so the rules said review if
a review rule fired and approve otherwise.
"""

from typing import Any

from django.db import migrations, models
from django.db.models import F


def backfill_rules_outcome(apps: Any, schema_editor: Any) -> None:
    decision = apps.get_model("scoring", "Decision")
    decision.objects.filter(model_version__isnull=True).update(rules_outcome=F("outcome"))
    reviewed = [
        pk
        for pk, rules in decision.objects.filter(model_version__isnull=False)
        .exclude(rules=[])
        .values_list("pk", "rules")
        .iterator(chunk_size=5000)
        if any(rule.get("action") == "review" for rule in rules)
    ]
    for start in range(0, len(reviewed), 5000):
        decision.objects.filter(pk__in=reviewed[start : start + 5000]).update(
            rules_outcome="review"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0007_transaction_cold_lookup_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='decision',
            name='feature_set_version',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='decision',
            name='rules_outcome',
            field=models.CharField(choices=[('approve', 'Approve'), ('review', 'Review'), ('decline', 'Decline')], default='approve', max_length=16),
        ),
        migrations.AddField(
            model_name='integrator',
            name='label_maturity_days',
            field=models.PositiveSmallIntegerField(blank=True, help_text='Days after which a payment with no fraud label counts as legitimate (empty: the LABEL_MATURITY_DAYS setting).', null=True),
        ),
        migrations.AddField(
            model_name='modelversion',
            name='feature_set_version',
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='modelversion',
            name='label_coverage',
            field=models.JSONField(default=dict),
        ),
        migrations.RunPython(backfill_rules_outcome, migrations.RunPython.noop),
    ]
