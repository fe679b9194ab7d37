from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"

    def ready(self) -> None:
        import training.jobs  # noqa: F401  (registers the job handlers)
        from echofu.stored_files import remove_files_with
        from training.models import TalkingHeadModel

        remove_files_with(TalkingHeadModel)
