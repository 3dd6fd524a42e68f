from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fraudops.audit"
    label = "audit"
    verbose_name = "Audit log"
