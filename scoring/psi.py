"""Population stability (PSI): how far a feature's distribution moved (pure, no Django).

PSI = Σ (current% − reference%) · ln(current% / reference%) over the reference's deciles, with
missing values as a bin of their own (a feature that stops arriving is drift too). Deciles that
fall on one value (a tie: most payments' count of something is 0) are one edge, so a tied value
is one bin however much of the reference it holds (ties merged). The usual
reading: below 0.1 stable, 0.1–0.2 worth a look, above 0.2 shifted.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

SHIFTED = 0.2
_FLOOR = 1e-4  # an empty bin counts as this share, so the logarithm stays finite


def _edges(values: Sequence[float], bins: int) -> list[float]:
    ordered = sorted(values)
    cuts = {ordered[min(len(ordered) - 1, (len(ordered) * k) // bins)] for k in range(1, bins)}
    return sorted(cuts)


def _shares(values: Sequence[float | None], edges: list[float]) -> list[float]:
    counts = [0] * (len(edges) + 2)  # the bins between edges, then "missing"
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            counts[-1] += 1
        else:
            counts[bisect.bisect_right(edges, value)] += 1
    total = len(values) or 1
    return [max(count / total, _FLOOR) for count in counts]


def psi(
    reference: Sequence[float | None], current: Sequence[float | None], bins: int = 10
) -> float:
    """The PSI of ``current`` against ``reference`` (0.0 when either is empty)."""
    if not reference or not current:
        return 0.0
    present = [v for v in reference if v is not None and not math.isnan(v)]
    edges = _edges(present, bins) if present else []
    ref, cur = _shares(reference, edges), _shares(current, edges)
    return sum((c - r) * math.log(c / r) for r, c in zip(ref, cur, strict=True))
