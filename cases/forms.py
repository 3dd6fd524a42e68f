"""Forms of the workbench: they parse input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from cases.models import BLOCKABLE, Verdict
from cases.roles import workers


class VerdictForm(forms.Form):
    # No verdict is chosen for the analyst: an empty choice first, refused if sent.
    verdict = forms.ChoiceField(choices=[("", "– choose –"), *Verdict.choices])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    block = forms.MultipleChoiceField(
        required=False,
        choices=[(entity, f"block the {entity}") for entity in BLOCKABLE],
        widget=forms.CheckboxSelectMultiple,
    )


class ReassignForm(forms.Form):
    to_user: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), label="Reassign to"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = workers()


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class CommentForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class CaseIdsField(forms.Field):
    """Case ids from checkboxes; which of them may be decided is the view's business."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        try:
            return [int(v) for v in value or []]
        except (TypeError, ValueError):
            raise forms.ValidationError("Case ids are numbers.") from None


class BulkVerdictForm(forms.Form):
    cases = CaseIdsField()
    verdict = forms.ChoiceField(choices=Verdict.choices)
    note = forms.CharField()
