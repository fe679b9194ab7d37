from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = _("Rendered videos")

    def ready(self) -> None:
        import generation.jobs  # noqa: F401  (registers the job handlers)
        from echofu.stored_files import remove_files_with
        from generation.models import GeneratedVideo

        remove_files_with(GeneratedVideo)
