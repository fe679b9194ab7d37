from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from assets import catalog
from echofu import paths, removal, responses
from echofu.messages import in_contract_language
from echofu.uploads import UploadRejected
from generation.forms import GenerationRequest
from generation.jobs import prepare_render
from monitoring import repeats
from training import follow
from training.registry import find_model


class Command(BaseCommand):
    help = "Render a talking-head video from a model and an audio file or a text."

    def add_arguments(self, parser):
        parser.add_argument("model", help="model path, e.g. media/models/EchoLite/train_20250101_120000")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--audio", help="catalog path or a local audio file")
        source.add_argument("--text", help="text to speak (uses the voice stack)")
        parser.add_argument("--speaker", default="", help="speaker id for --text")
        parser.add_argument("--pitch", type=float, default=0.0, help="semitones")
        parser.add_argument("--room-tone", action="store_true", help="lay the speaker's recording's background under the speech (--text)")
        parser.add_argument("--gpu", default="GPU0")
        parser.add_argument("--queue", action="store_true", help="hand the job to the running qcluster instead of rendering here")
        parser.add_argument("--label-language", choices=[code for code, _ in settings.LANGUAGES], default=settings.LANGUAGE_CODE,
                            help='language of the "AI generated" label drawn on the video (default: the studio\'s, %(default)s)')

    def handle(self, model, audio, text, speaker, pitch, room_tone, gpu, queue, label_language, **options):
        try:
            parts = paths.resolve_request_path(model, must_exist=False).split("/")
        except paths.PathRejected as exc:
            raise CommandError(f"{model}: {exc}") from exc
        model_type = parts[1] if len(parts) == 3 else ""
        if find_model(model, model_type) is None:
            raise CommandError(f"模型不存在: {model} (a path like media/models/EchoLite/<name>)")
        data = {"model_name": model_type, "model_param": model, "gpu_choice": gpu, "target_text": text or "",
                "speaker_id": speaker, "pitch": pitch, "room_tone": room_tone}
        if audio:
            data["ref_audio"] = self._catalog_audio(audio)
        form = GenerationRequest(data=data)
        if not form.is_valid():
            raise CommandError(in_contract_language(responses.first_error(form)))
        valid = form.validated_data
        audio_path = valid.get("audio_path", "")
        try:
            # a browser recording is kept as it is now; the job keeps the label's language as a page's request does
            with repeats.as_asked(audio_path) as (_, recording), translation.override(label_language):
                job = prepare_render(valid["model"], valid["gpu_choice"], audio_path=audio_path, text=valid["target_text"],
                                     speaker_id=valid["speaker_id"], pitch=valid["pitch"], room_tone=valid["room_tone"], recording=recording)
        except removal.InputGone as gone:  # the model, voice or audio deleted from the studio since the form found it
            raise CommandError(in_contract_language(gone.message())) from None
        workers = follow.start([job], inline=not queue)
        [done] = follow.follow([job], self.stdout.write, workers)
        if done.status != done.Status.SUCCEEDED:
            raise CommandError(f"{done.pk} {done.status}: {done.error or done.stage}")
        self.stdout.write(self.style.SUCCESS(f"video: {done.result['video_path']}"))

    def _catalog_audio(self, argument: str) -> str:
        try:
            return paths.public_path(catalog.find_catalog_audio(argument))
        except ValueError:
            source = Path(argument).expanduser()
            if not source.is_file():
                raise CommandError(f"{argument}: no such audio file") from None
            try:
                return catalog.import_reference_audio(source).relative_path
            except UploadRejected as exc:
                raise CommandError(f"{argument}: {exc}") from exc
