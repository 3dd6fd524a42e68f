"""Forms of the workbench: they parse input; the services decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from cases.models import ACTIVE, BLOCKABLE, Queue, Verdict
from cases.queue_reads import AMOUNT_BANDS, DEFAULT_SORT, SORTS, QueueFilters
from cases.roles import workers
from scoring.models import Channel

# What the verdict form's block boxes say: the entity in words ("ip" is an IP address).
BLOCK_WORDS = {"card": "card", "device": "device", "ip": "IP address", "email": "e-mail address"}


class VerdictForm(forms.Form):
    """A verdict, a note, and what to block: only what the case's transaction has (no box to
    block a device a payment came without; a forged one is refused as not a choice)."""

    # No verdict is chosen for the analyst: an empty choice first, refused if sent.
    verdict = forms.ChoiceField(choices=[("", "– choose –"), *Verdict.choices])
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    block = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, transaction: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["block"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [
            (entity, f"block the {BLOCK_WORDS.get(str(entity), entity)}")
            for entity, column in BLOCKABLE.items()
            if getattr(transaction, column)
        ]


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
    """A verdict on several cases: no verdict is chosen for the lead, every error says what
    to do, and nothing is decided before the lead confirms (``confirmed``)."""

    cases = CaseIdsField(error_messages={"required": "Choose at least one case."})
    verdict = forms.ChoiceField(
        choices=[("", "choose a verdict…"), *Verdict.choices],
        error_messages={
            "required": "Choose a verdict: fraud, legit or inconclusive.",
            "invalid_choice": "Choose a verdict: fraud, legit or inconclusive.",
        },
    )
    note = forms.CharField(
        error_messages={"required": "Write a note: it goes on the record of every case."}
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class QueueFilterForm(forms.Form):
    """The queue page's filters, from its query string; a bad value is a form error."""

    queue: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=Queue.objects.none(), required=False, empty_label="all queues"
    )
    status = forms.ChoiceField(
        required=False, choices=[("", "any status"), *[(s.value, s.label) for s in ACTIVE]]
    )
    amount = forms.ChoiceField(
        required=False,
        label="Amount",
        choices=[("", "any amount"), *[(key, band.label) for key, band in AMOUNT_BANDS.items()]],
    )
    rule = forms.ChoiceField(required=False, label="Rule fired", choices=[("", "any rule")])
    channel = forms.ChoiceField(required=False, choices=[("", "any channel"), *Channel.choices])
    q = forms.CharField(
        required=False,
        max_length=254,
        label="Search",
        help_text="A customer, card, device, IP address, e-mail or case number, exactly.",
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in SORTS.items()]
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, queues: Any, rules: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        queue = self.fields["queue"]
        assert isinstance(queue, forms.ModelChoiceField)
        queue.queryset = queues
        rule = self.fields["rule"]
        assert isinstance(rule, forms.ChoiceField)
        rule.choices = [("", "any rule"), *[(name, name) for name in rules]]
        for field in self.fields.values():  # said in words, whichever field it is
            field.error_messages["invalid_choice"] = (
                "Choose one of the listed values (%(value)s is not one)."
            )

    def filters(self) -> QueueFilters:
        data = self.cleaned_data
        return QueueFilters(
            queue=data["queue"],
            status=data["status"],
            amount=data["amount"],
            rule=data["rule"],
            channel=data["channel"],
            search=data["q"],
            sort=data["sort"] or DEFAULT_SORT,
            page=data["page"] or 1,
        )
