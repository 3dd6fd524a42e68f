"""A serving process never loads scikit-learn or pandas (scoring/lightgbm_lean.py), and a
process that serves can still train."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import json, sys
import django
django.setup()
import fraudops.wsgi  # the app, as gunicorn loads it
from django.urls import get_resolver
get_resolver().url_patterns  # every view module, the admin's included
from scoring.features.definitions import FEATURE_NAMES
from scoring.lgbm import Calibration, LightGBMScorer
model = json.loads(sys.argv[1])
scorer = LightGBMScorer.load(
    model["path"], version="m", sha256=model["sha256"], features=FEATURE_NAMES,
    calibration=Calibration(tuple(model["x"]), tuple(model["y"])), known_features=FEATURE_NAMES,
)
features = {name: 1.0 for name in FEATURE_NAMES}
score = scorer.predict(features)
explained = scorer.explanation(features)
def loaded():
    return sorted(n for n in ("sklearn", "pandas") if sys.modules.get(n) is not None)
serving = loaded()
if sys.argv[2:] == ["train"]:
    from scoring.model_metrics import score_metrics
    from scoring.training.train import calibrate  # scikit-learn's isotonic regression
    import numpy as np
    metrics = score_metrics(np.array([0.1, 0.9, 0.4]), np.array([0, 1, 0]))
    assert metrics.average_precision == 1.0, metrics
print(json.dumps({
    "serving": serving, "end": loaded(), "score": score.probability,
    "explained": len(explained.contributions),
}))
"""


def _run(trained_model: Any, *extra: str) -> dict[str, Any]:
    model = {
        "path": str(trained_model.path), "sha256": trained_model.sha256,
        "x": list(trained_model.calibration.x), "y": list(trained_model.calibration.y),
    }  # fmt: skip
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fraudops.settings"}
    ran = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps(model), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    result: dict[str, Any] = json.loads(ran.stdout.strip().splitlines()[-1])
    return result


def test_a_serving_process_scores_and_explains_without_scikit_learn_or_pandas(trained_model):
    served = _run(trained_model)

    assert served["serving"] == served["end"] == []
    assert 0.0 <= served["score"] <= 1.0
    assert served["explained"] > 0


def test_the_same_process_can_still_compute_metrics_and_train(trained_model):
    served = _run(trained_model, "train")

    assert served["serving"] == []
    assert "sklearn" in served["end"]  # imported when asked for, after lightgbm
