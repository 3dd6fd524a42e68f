"""The model lifecycle's buttons (``scoring.model_views``), under /models/."""

from django.urls import path

from scoring import model_views

app_name = "models"

urlpatterns = [
    *(
        path(
            f"<int:version_id>/{action}",
            model_views.model_version_change,
            {"action": action},
            name=action,
        )
        for action in model_views.VERSION_ACTIONS
    ),
    path("rollback", model_views.models_rollback, name="rollback"),
    path("kill-switch", model_views.models_kill_switch, name="kill-switch"),
]
