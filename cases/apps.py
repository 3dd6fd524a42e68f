from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self) -> None:
        from cases.roles import roles_sync

        # After auth has created the permissions (auth comes earlier in INSTALLED_APPS).
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="cases.roles_sync")
