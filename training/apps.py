from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        import training.jobs  # noqa: F401  (registers the job handlers)
