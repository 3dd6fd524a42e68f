"""Roles are Django groups with permissions, kept in code and synced after every migrate.

- analyst: works cases (claim, evidence, verdict, comment);
- lead: an analyst who also reassigns, escalates, decides in bulk and exports, and changes
  which model decides (promote, shadow, canary, kill switch, rollback, reject);
- manager: sees the KPI dashboards and the model pages;
- admin: all of that, and edits rules, lists and thresholds in the admin (as drafts);
- leads and admins publish a draft someone else wrote (``rules.publish_policy``).

The model pages are in the admin: a person reaches them with staff status as well as the role.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db.models import QuerySet

from fraudops.audit.services import audit_changes, audit_record

WORK = "cases.work_case"
LEAD = "cases.lead_case"
KPIS = "cases.view_kpis"
MANAGE_MODELS = "scoring.manage_models"
PUBLISH_POLICY = "rules.publish_policy"
VIEW_MODELS = "scoring.view_modelversion"

_RULES_ADMIN = [
    f"rules.{action}_{model}"
    for model in ("rule", "listentry", "scorethresholds", "policydraft")
    for action in ("add", "change", "delete", "view")
]

# Admins also read the model pages and set what thresholds are recommended from.
_MODELS_ADMIN = [
    "scoring.view_modelversion",
    *(f"scoring.{action}_thresholdcosts" for action in ("add", "change", "view")),
]

# Leads open drafts in the admin to publish them (four eyes: never their own).
_DRAFTS_READ = ["rules.view_policydraft", "rules.view_rule", "rules.view_listentry"]

ROLES: dict[str, list[str]] = {
    "analyst": [WORK],
    "lead": [WORK, LEAD, VIEW_MODELS, MANAGE_MODELS, PUBLISH_POLICY, *_DRAFTS_READ],
    "manager": [KPIS, VIEW_MODELS],
    "admin": [WORK, LEAD, KPIS, MANAGE_MODELS, PUBLISH_POLICY, *_RULES_ADMIN, *_MODELS_ADMIN],
}


def roles_sync(**kwargs: Any) -> None:
    """Create the role groups and give them exactly their permissions (idempotent)."""
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)


User = AbstractBaseUser | AnonymousUser


def can_work(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(WORK))


def can_see_kpis(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(KPIS))


def can_lead(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perm(LEAD))


def can_compare_models(user: Any) -> bool:
    """Managers, leads and admins see how the models compare; analysts work cases."""
    return bool(user.is_authenticated and (user.has_perm(KPIS) or user.has_perm(LEAD)))


# Where permissions live (axes, the other configured backend, only guards the login).
_PERMISSIONS_BACKEND = "django.contrib.auth.backends.ModelBackend"


def workers() -> QuerySet[Any]:
    """Active users who may work cases (those :func:`can_work` admits: the analyst role, or a
    superuser), by username: whom a lead can hand a case to."""
    users = get_user_model().objects.with_perm(
        WORK, is_active=True, include_superusers=True, backend=_PERMISSIONS_BACKEND
    )
    ordered: QuerySet[Any] = users.order_by("username")
    return ordered


def user_roles(user: Any) -> dict[str, Any]:
    """What a user may do, as the audit log compares it: roles (groups), the staff and
    superuser flags and permissions given to the user directly."""
    permissions = user.user_permissions.values_list("content_type__app_label", "codename")
    return {
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "is_staff": bool(user.is_staff),
        "is_superuser": bool(user.is_superuser),
        "user_permissions": sorted(f"{app}.{codename}" for app, codename in permissions),
    }


def user_roles_record(*, user: Any, actor: Any, before: dict[str, Any]) -> None:
    """Record in the audit log how ``user``'s roles changed since ``before`` (a
    :func:`user_roles` taken earlier); nothing when they did not."""
    after = user_roles(user)
    changes = audit_changes(before, after)
    if changes:
        audit_record(actor=actor, action="user.roles", target=user, changes=changes)


def group_permissions(group: Group) -> list[str]:
    permissions = group.permissions.values_list("content_type__app_label", "codename")
    return sorted(f"{app}.{codename}" for app, codename in permissions)


def group_permissions_record(*, group: Group, actor: Any, before: list[str] | None) -> None:
    """Record a change of what a role (group) may do; ``before`` None: the group is new."""
    after = group_permissions(group)
    if before is None or before != after:
        action = "role.create" if before is None else "role.permissions"
        audit_record(
            actor=actor, action=action, target=group, changes={"permissions": [before, after]}
        )
