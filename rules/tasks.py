"""Celery tasks of the rules app: thin, each calls one service."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction

from rules.drafts import DraftNotOpen, draft_content_hash
from rules.models import DraftStatus, PolicyBacktest, PolicyDraft
from scoring.backtest import backtest_run

logger = logging.getLogger(__name__)


@shared_task
def policy_backtest_task(backtest_id: int) -> str:
    backtest = backtest_run(backtest_id=backtest_id)
    return f"{backtest}: {backtest.result.get('changed', 0)} changed outcomes"


@transaction.atomic
def backtest_request(*, draft: PolicyDraft, user: Any, days: int) -> PolicyBacktest:
    """Store a backtest of the draft as it is now and queue it once this transaction commits
    (a worker runs it; inline under eager Celery, the embedded default). Raises
    :class:`rules.drafts.DraftNotOpen` for a published or discarded draft."""
    if draft.status != DraftStatus.DRAFT:
        raise DraftNotOpen(f"{draft} was {draft.status}: there is nothing left to test")
    backtest = PolicyBacktest.objects.create(
        draft=draft, content_hash=draft_content_hash(draft), days=days, requested_by=user
    )
    transaction.on_commit(lambda: _send(backtest.pk))
    return backtest


def _send(backtest_id: int) -> None:
    if not policy_backtest_task.app.conf.task_always_eager:
        policy_backtest_task.delay(backtest_id)
        return
    # Inline: a failed backtest is stored as failed (backtest_run) and must not reach the
    # request whose transaction just committed.
    try:
        policy_backtest_task.apply(args=(backtest_id,), throw=False)
    except Exception:
        logger.exception("backtest %s failed", backtest_id)
