"""LightGBM without its scikit-learn and pandas integrations, for every process that serves.

``import lightgbm`` also imports scikit-learn and pandas (and scipy with them) when they are
installed, for its optional ``LGBMClassifier`` API and DataFrame input: about 140 MB of a web
worker's memory for code no request runs. We use only the native API (``Booster``,
``lightgbm.train`` on numpy arrays), so ``lightgbm`` is imported here with both hidden, the
way Python documents it (a ``None`` in ``sys.modules`` makes an import raise ImportError);
lightgbm then records them as not installed and works as before on numpy. Once lightgbm is
imported, they are importable again: training imports scikit-learn's isotonic regression and
metrics itself, in the process that trains (a Celery worker; with the embedded default, the
server).

Import ``lightgbm`` from here (``from scoring.lightgbm_lean import lightgbm``) so that the
first import in a process is this one; ``tests/scoring/test_lightgbm_lean.py`` checks that a
serving process never loads scikit-learn or pandas.
"""

from __future__ import annotations

import sys

HIDDEN = ("sklearn", "pandas")


def _import_lean() -> None:
    hidden = [name for name in HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        # Here, while both are hidden: lightgbm's compat module tries each once, at import.
        import lightgbm  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]


_import_lean()

import lightgbm  # noqa: E402

__all__ = ["lightgbm"]
