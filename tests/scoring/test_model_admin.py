"""The model's admin page says how its training rows were labelled, in words."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from scoring.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_the_models_page_shows_its_label_coverage_and_delays():
    version = ModelVersion.objects.create(
        name="lgbm-1", path="/nowhere", features=[], calibration={},
        trained_from=datetime(2026, 3, 2, tzinfo=UTC),
        trained_until=datetime(2026, 4, 2, tzinfo=UTC),
        data_hash="x", metrics={"average_precision": 0.61, "rules_only_average_precision": 0.2},
        label_coverage={
            "rows": 40000, "explicit": 500, "explicit_share": 0.0125, "fraud": 450,
            "legit_by_maturity": 39500, "fraud_delay_median_days": 17.56,
            "fraud_delay_p90_days": 33.4,
        },
    )  # fmt: skip
    admin = get_user_model().objects.create_superuser("root", "", "pw-xxxxxxxx")
    client = Client()
    client.force_login(admin)

    page = client.get(f"/admin/scoring/modelversion/{version.pk}/change/").content.decode()

    assert "legit by maturity" in page
    assert "39,500" in page
    assert "500 (1.2%)" in page
    assert "17.6 days" in page
    assert "33.4 days" in page
    assert "0.610" in page
    assert "label_coverage" not in page  # read in words, not as raw JSON
