from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Talking-head models")

    def ready(self) -> None:
        import training.jobs  # noqa: F401  (registers the job handlers)
        from echofu.stored_files import remove_files_with
        from training.models import TalkingHeadModel

        remove_files_with(TalkingHeadModel)
