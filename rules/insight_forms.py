"""Forms of the per-rule performance page and the investigation console: they parse input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms

from rules.models import Rule, RuleAction
from rules.performance import SORT_KEYS

# The longest period a page reads at once.
MAX_DAYS = 366
# The period shown when none is asked for: the last week, today included.
DEFAULT_DAYS = 7


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


class PeriodForm(forms.Form):
    """A period of whole UTC days, ``since`` to ``until`` inclusive."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any, *, today: date, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        until = cleaned.get("until") or self.today
        since = cleaned.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if "since" in self.errors or "until" in self.errors:
            return cleaned
        if since > until:
            self.add_error("since", "The period starts after it ends.")
        elif (until - since).days + 1 > MAX_DAYS:
            self.add_error("since", f"A period of at most {MAX_DAYS} days.")
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def bounds(self) -> tuple[datetime, datetime]:
        """[start of ``since``, end of ``until``) in UTC (only after is_valid())."""
        since, until = self.cleaned_data["since"], self.cleaned_data["until"]
        return midnight(since), midnight(until + timedelta(days=1))


class PerformanceForm(PeriodForm):
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORT_KEYS])
    order = forms.ChoiceField(required=False, choices=[("desc", "desc"), ("asc", "asc")])


class ConsoleForm(PeriodForm):
    expression = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "spellcheck": "false"}),
        help_text="e.g. card_txn_count_1h >= 3 and amount > 200 and label == 'fraud'",
    )


class ConsoleDraftForm(forms.Form):
    """Save the console's expression as a rule (rules.console_drafts)."""

    expression = forms.CharField(max_length=2000, widget=forms.HiddenInput)
    name = forms.CharField(max_length=Rule._meta.get_field("name").max_length or 64)
    action = forms.ChoiceField(choices=RuleAction.choices, initial=RuleAction.REVIEW)
    # The console's period, to show its query again afterwards.
    since = forms.DateField(required=False, widget=forms.HiddenInput)
    until = forms.DateField(required=False, widget=forms.HiddenInput)
