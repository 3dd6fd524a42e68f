"""Turning what the investigation console found into a rule (a service: writes).

The console's "Save as draft rule" button posts here, and only here.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from rules import drafts
from rules.models import PolicyDraft, Rule, RuleMode
from rules.services import User


def rule_draft_from_console(
    *, expression: str, name: str, action: str, author: User
) -> PolicyDraft:
    """Propose the console's ``expression`` as a new live rule named ``name`` with
    ``action``, in ``author``'s open draft: it decides nothing until someone else backtests
    and publishes the draft (``rules.drafts``, four eyes).

    Raises :class:`django.core.exceptions.ValidationError` keyed by field (``name``,
    ``expression``, ``action``) and saves nothing: an existing rule's name (the console makes
    new rules; an edit goes through the rule's own page), or an expression that does not
    compile over the rule facts — the console's own facts (outcome, label, score) among them:
    a rule decides before they exist.
    """
    if Rule.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A rule named {name!r} exists already."})
    who = author.get_username() if author is not None else "?"
    return drafts.draft_rule_propose(
        user=author, name=name, expression=expression, action=action,
        description=f"From the investigation console ({who})", mode=RuleMode.LIVE,
    )  # fmt: skip
