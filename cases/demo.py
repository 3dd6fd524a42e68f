"""The demo's workbench: queues and one person per role (the same password as the admin)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cases.models import Queue

DEMO_PEOPLE = (("alice", "analyst"), ("bob", "analyst"), ("lena", "lead"), ("mia", "manager"))
STAFF_ROLES = {"lead", "manager"}


def demo_workbench_seed(*, password: str) -> None:
    """Create the demo queues and people, once."""
    Queue.objects.get_or_create(
        name="High value", defaults={"position": 10, "min_amount": Decimal(1000), "sla_minutes": 30}
    )
    Queue.objects.get_or_create(
        name="Transfers", defaults={"position": 20, "match_channel": "transfer", "sla_minutes": 60}
    )
    users = get_user_model().objects
    for username, role in DEMO_PEOPLE:
        if not users.filter(username=username).exists():
            # The model pages are in the admin: the lead (who may promote) and the manager
            # reach them with staff status; their role decides what they may do there.
            person = users.create_user(username, password=password, is_staff=role in STAFF_ROLES)
            person.groups.add(Group.objects.get(name=role))
