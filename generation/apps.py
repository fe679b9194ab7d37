from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"

    def ready(self) -> None:
        import generation.jobs  # noqa: F401  (registers the job handlers)
        from echofu.stored_files import remove_files_with
        from generation.models import GeneratedVideo

        remove_files_with(GeneratedVideo)
