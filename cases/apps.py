from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self) -> None:
        # Imported once the app registry is ready: these modules import models.
        from cases.opening import default_queue_ensure
        from cases.roles import roles_sync

        # After auth has created the permissions (auth comes earlier in INSTALLED_APPS).
        post_migrate.connect(roles_sync, sender=self, dispatch_uid="cases.roles_sync")
        # The queue every case can fall back to exists before the first page subscribes.
        post_migrate.connect(
            default_queue_ensure, sender=self, dispatch_uid="cases.default_queue_ensure"
        )
