"""Celery tasks of the workbench: thin, each calls one service."""

from __future__ import annotations

from celery import shared_task

from cases.services import case_leases_release_expired


@shared_task
def case_leases_release_task() -> int:
    return case_leases_release_expired()
