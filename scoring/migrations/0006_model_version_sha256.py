"""ModelVersion.sha256, backfilled from the files as they are now.

A version registered before serving checked hashes gets the hash of its file at migration time
(trusting it as it is, as serving did until now); a missing or unreadable file gets a blank
hash, and such a version is refused at load, as it would have failed anyway.
"""

import hashlib
from pathlib import Path
from typing import Any

from django.db import migrations, models


def backfill(apps: Any, schema_editor: Any) -> None:
    model_version = apps.get_model("scoring", "ModelVersion")
    for version in model_version.objects.all():
        try:
            data = Path(version.path).read_bytes()
        except OSError:
            continue
        version.sha256 = hashlib.sha256(data).hexdigest()
        version.save(update_fields=["sha256"])


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0005_drift_report"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="sha256",
            field=models.CharField(
                blank=True,
                default="",
                help_text="SHA-256 of the model file, as training wrote it.",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
