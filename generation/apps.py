from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"

    def ready(self) -> None:
        import generation.jobs  # noqa: F401  (registers the job handlers)
