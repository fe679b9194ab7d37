from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = _("Uploads and voices")

    def ready(self) -> None:
        import assets.jobs  # noqa: F401  (registers the job handlers)
        import assets.voice_jobs  # noqa: F401
        import assets.history  # noqa: F401  (registers /api/history/audio_clone)
        from assets.models import GeneratedAudio, ReferenceAudio, SpeakerProfile, TrainingVideo
        from echofu.stored_files import remove_files_with

        remove_files_with(ReferenceAudio, TrainingVideo, SpeakerProfile, GeneratedAudio)
