"""The model lifecycle's buttons (``scoring.model_views``), under /models/."""

from django.urls import path

from scoring import model_views

app_name = "models"

urlpatterns = [
    path("<int:version_id>/promote", model_views.model_promote, name="promote"),
    path("<int:version_id>/shadow", model_views.model_shadow_start, name="shadow-start"),
    path("<int:version_id>/reject", model_views.model_reject, name="reject"),
    path("<int:version_id>/canary", model_views.model_canary, name="canary"),
    path("rollback", model_views.models_rollback, name="rollback"),
    path("kill-switch", model_views.models_kill_switch, name="kill-switch"),
]
