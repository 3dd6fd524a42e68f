"""Turning what the investigation console found into a rule (a service: writes).

The console's "Save as draft rule" button posts here, and only here: one function, so the
drafts-and-four-eyes workflow (issue 13) replaces its body and nothing else.
"""

from __future__ import annotations

from rules.models import Rule, RuleMode
from rules.services import User, rule_save


def rule_draft_from_console(*, expression: str, name: str, action: str, author: User) -> Rule:
    """Save the console's ``expression`` as a new rule named ``name`` with ``action``, that
    does not act until someone else publishes it.

    TODO(issue 13, drafts): today this creates a *disabled* Rule through
    ``rules.services.rule_save`` (so it never decides anything, and its first version records
    ``author``); once drafts exist it must create a draft instead, for a second person to
    backtest and publish. Callers rely only on this signature, on the returned rule's name,
    and on :class:`django.core.exceptions.ValidationError` (keyed by field: ``name``,
    ``expression``, ``action``) when the rule cannot be saved; then nothing is saved. An
    expression naming the console's own facts (outcome, label, score) is refused: a rule
    decides before they exist.
    """
    rule = Rule(
        name=name,
        expression=expression,
        action=action,
        mode=RuleMode.DISABLED,
        description=f"From the investigation console ({author.get_username() if author else '?'})",
    )
    return rule_save(rule=rule, user=author)
