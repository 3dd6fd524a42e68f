from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"

    def ready(self) -> None:
        # Registers the deploy checks; imported here because they read the loaded settings.
        from scoring import checks  # noqa: F401
