from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from cases import queues
from cases.models import Case, CaseEvent, Queue
from cases.roles import (
    group_permissions,
    group_permissions_record,
    user_roles,
    user_roles_record,
)
from fraudops.audit.services import audit_record


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin[Queue]):
    """Saves and deletes go through ``cases.queues`` (each one is in the audit log)."""

    list_display = ["name", "position", "sla_minutes", "match_rule", "match_channel", "min_amount"]
    list_editable = ["position", "sla_minutes"]
    filter_horizontal = ["analysts"]

    def save_model(self, request: HttpRequest, obj: Queue, form: Any, change: bool) -> None:
        # The changelist's inline edit has no analysts field: leave them as they are.
        analysts = form.cleaned_data.get("analysts")
        queues.queue_save(queue=obj, user=request.user, analysts=analysts)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # queue_save has set the analysts (the only many-to-many), inside its audit entry.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: Queue) -> None:
        queues.queue_delete(queue=obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Queue]) -> None:
        for queue in queryset:
            queues.queue_delete(queue=queue, user=request.user)


class CaseEventInline(admin.TabularInline[CaseEvent, Case]):
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = [
        "created_at", "actor", "action", "from_status", "to_status", "from_assignee",
        "to_assignee", "reason",
    ]  # fmt: skip

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    """Read-only here: cases change through the workbench, which records every change."""

    list_display = ["pk", "queue", "status", "priority", "assignee", "verdict", "created_at"]
    list_filter = ["status", "queue", "verdict"]
    inlines = [CaseEventInline]

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: Any) -> bool:
        return False


# Who holds which role is a change the audit log records: Django's user and group admins,
# with each save's change of roles (groups, staff and superuser flags, direct permissions)
# and of what a role may do recorded. The many-to-many fields are saved in save_related, so
# that is where the before and after are both at hand.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class RolesAuditedUserAdmin(UserAdmin[User]):
    def save_related(
        self, request: HttpRequest, form: ModelForm[User], formsets: Any, change: bool
    ) -> None:
        before = user_roles(form.instance)  # the groups are not saved yet: still the old ones
        for flag in ("is_staff", "is_superuser"):  # these are: take them from the form
            before[flag] = bool(form.initial.get(flag, False))
        super().save_related(request, form, formsets, change)
        user_roles_record(user=form.instance, actor=request.user, before=before)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        _user_delete_record(obj, request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            _user_delete_record(user, request.user)
        super().delete_queryset(request, queryset)


def _user_delete_record(user: User, actor: Any) -> None:
    roles = user_roles(user)
    audit_record(
        actor=actor,
        action="user.delete",
        target=user,
        changes={key: [value, None] for key, value in roles.items()},
    )


@admin.register(Group)
class RolesAuditedGroupAdmin(GroupAdmin):
    def save_related(
        self, request: HttpRequest, form: ModelForm[Group], formsets: Any, change: bool
    ) -> None:
        before = group_permissions(form.instance) if change else None
        super().save_related(request, form, formsets, change)
        group_permissions_record(group=form.instance, actor=request.user, before=before)

    def delete_model(self, request: HttpRequest, obj: Group) -> None:
        _group_delete_record(obj, request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Group]) -> None:
        for group in queryset:
            _group_delete_record(group, request.user)
        super().delete_queryset(request, queryset)


def _group_delete_record(group: Group, actor: Any) -> None:
    audit_record(
        actor=actor,
        action="role.delete",
        target=group,
        changes={"permissions": [group_permissions(group), None]},
    )
