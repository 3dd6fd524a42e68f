"""The case page's features: what stands out first, grouped, in words (pure, no Django).

A feature *stands out* when it is far from this customer's usual (the median of its earlier
decisions: at least :data:`FAR_FACTOR` times its usual, or that fraction of it; for a usual of
0, at least 1 away: a new device, 2 payments where there were none) or pushes the score
strongly (a SHAP contribution of at least :data:`STRONG_PUSH` log-odds either way, or one a
stored reason cites). Standing-out features come first, by group in the catalogue's order;
the rest are listed apart, collapsed on the page. One-hot features are one row ("Channel:
wallet"). A feature with neither a value nor a usual is left out.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scoring.features.catalogue import GROUP_ORDER, FeatureInfo, feature_info, value_text
from scoring.features.definitions import FeatureValue

FAR_FACTOR = 2.0
STRONG_PUSH = 0.25
NO_HISTORY = "no history yet"

Values = Mapping[str, FeatureValue]


@dataclass(frozen=True)
class FeatureLine:
    name: str  # the feature (for a one-hot group: the group, "channel")
    label: str
    unit: str
    description: str
    value: str  # in words and unit: "480.00 EUR", "wallet"; a dash when missing
    usual: str  # "13.00 EUR", or "no history yet"
    contribution: float | None  # SHAP, log-odds; None when not known
    why: str  # why it stands out ("" when it does not)


@dataclass(frozen=True)
class FeatureGroup:
    group: str
    lines: tuple[FeatureLine, ...]


@dataclass(frozen=True)
class FeatureView:
    standing_out: tuple[FeatureGroup, ...]
    others: tuple[FeatureGroup, ...]
    history: int  # earlier decisions the usual values come from

    @property
    def others_count(self) -> int:
        return sum(len(group.lines) for group in self.others)


def _far(value: float, usual: float) -> bool:
    if usual == 0:
        return abs(value) >= 1
    ratio = value / usual
    return ratio >= FAR_FACTOR or ratio <= 1 / FAR_FACTOR


def _why(value: float | None, usual: float | None, contribution: float | None, cited: bool) -> str:
    parts = []
    if value is not None and usual is not None and _far(value, usual):
        parts.append("far from this customer's usual")
    if contribution is not None and abs(contribution) >= STRONG_PUSH:
        parts.append("pushes the score " + ("up" if contribution > 0 else "down"))
    elif cited:
        parts.append("a reason for the score")
    return "; ".join(parts)


def _one_hot_value(group: str, values: Values) -> str | None:
    for name, value in values.items():
        info = feature_info(name)
        if info is not None and info.one_hot == group and value == 1:
            return info.one_hot_value
    return None


def _one_hot_line(
    infos: list[FeatureInfo], values: Values, earlier: Sequence[Values], shap: Mapping[str, float]
) -> tuple[FeatureLine, str] | None:
    group = infos[0].one_hot or ""
    value = _one_hot_value(group, values)
    seen = Counter(v for row in earlier if (v := _one_hot_value(group, row)) is not None)
    usual = seen.most_common(1)[0][0] if seen else None
    if value is None and usual is None:
        return None
    pushes = [shap[i.name] for i in infos if i.name in shap]
    contribution = sum(pushes) if pushes else None
    why = _why(None, None, contribution, cited=False)
    if value is not None and usual is not None and value != usual:
        why = "; ".join(p for p in ("not this customer's usual", why) if p)
    options = ", ".join(str(i.one_hot_value) for i in infos)
    line = FeatureLine(
        name=group.lower(), label=group, unit=f"one of {options}",
        description=f"How the payment came in ({options}).",
        value=value or "–", usual=usual or (NO_HISTORY if not earlier else "–"),
        contribution=contribution, why=why,
    )  # fmt: skip
    return line, str(infos[0].group)


def feature_view(
    *,
    names: Iterable[str],
    values: Values,
    earlier: Sequence[Values],
    contributions: Mapping[str, float],
    cited: Iterable[str] = (),
    currency: str = "",
) -> FeatureView:
    """The features of ``values`` against ``earlier`` (this customer's earlier decisions'
    features), ``contributions`` (SHAP, by feature) and the features ``cited`` by reasons."""
    cited_names = set(cited)
    lines: list[tuple[FeatureLine, str]] = []
    one_hot: dict[str, list[FeatureInfo]] = {}
    for name in names:
        info = feature_info(name)
        if info is None:
            continue  # an uncatalogued feature fails tests/scoring/test_catalogue.py
        if info.one_hot is not None:
            one_hot.setdefault(info.one_hot, []).append(info)
            continue
        value = values.get(name)
        history = [v for row in earlier if (v := row.get(name)) is not None]
        usual = statistics.median(history) if history else None
        if value is None and usual is None:
            continue
        contribution = contributions.get(name)
        no_usual = "–" if earlier else NO_HISTORY
        usual_text = no_usual if usual is None else value_text(info, usual, currency)
        line = FeatureLine(
            name=name, label=info.label, unit=str(info.unit), description=info.description,
            value=value_text(info, value, currency), usual=usual_text, contribution=contribution,
            why=_why(value, usual, contribution, name in cited_names),
        )  # fmt: skip
        lines.append((line, str(info.group)))
    for infos in one_hot.values():
        found = _one_hot_line(infos, values, earlier, contributions)
        if found is not None:
            lines.append(found)
    standing = [(line, group) for line, group in lines if line.why]
    rest = [(line, group) for line, group in lines if not line.why]
    return FeatureView(_grouped(standing), _grouped(rest), history=len(earlier))


def _grouped(lines: list[tuple[FeatureLine, str]]) -> tuple[FeatureGroup, ...]:
    """By group in the catalogue's order; within a group the strongest push first."""
    groups = []
    for group in GROUP_ORDER:
        members = [line for line, g in lines if g == group]
        members.sort(key=lambda line: -abs(line.contribution or 0.0))
        if members:
            groups.append(FeatureGroup(str(group), tuple(members)))
    return tuple(groups)
