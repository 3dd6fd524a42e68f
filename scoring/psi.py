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
# The score's bar (``drift.py``): the score is one series, not one of ~50 features (where a bar
# this low would raise a false alarm most days), and every outcome's volume moves with it; 0.1
# is the usual "act on it" reading (and Evidently's default PSI threshold).
SCORE_SHIFTED = 0.1
# A value holding at least this share of the reference is a bin of its own (``plateau_edges``).
PLATEAU_SHARE = 0.01
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


def plateau_edges(values: Sequence[float | None], bins: int = 10) -> list[float]:
    """The decile edges of ``values``, plus every value that holds at least PLATEAU_SHARE of
    them. A calibrated score sits on a few isotonic plateaus, and its top decile (where every
    review and decline lives) holds several: with decile edges alone that tail is one bin, so
    payments moving from one risky plateau to a riskier one were not seen. With an edge at
    each plateau, each is a bin."""
    present = _present(values)
    counts: dict[float, int] = {}
    for value in present:
        counts[value] = counts.get(value, 0) + 1
    big = {value for value, count in counts.items() if count >= PLATEAU_SHARE * len(present)}
    return sorted(big.union(_edges(present, bins))) if present else []


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None and not math.isnan(v)]


def psi(
    reference: Sequence[float | None],
    current: Sequence[float | None],
    bins: int = 10,
    *,
    edges: list[float] | None = None,
) -> float:
    """The PSI of ``current`` against ``reference`` (0.0 when either is empty), over the
    reference's deciles or the given bin ``edges``."""
    if not reference or not current:
        return 0.0
    if edges is None:
        present = _present(reference)
        edges = _edges(present, bins) if present else []
    ref, cur = _shares(reference, edges), _shares(current, edges)
    return sum((c - r) * math.log(c / r) for r, c in zip(ref, cur, strict=True))
