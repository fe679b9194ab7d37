from django.core.management.base import BaseCommand, CommandError, no_translations

from assets.consent import usable_profiles
from assets.models import SpeakerProfile
from assets.speech import VoiceNotMeasurable, measure_profile
from engines.voice.self_evaluation import EVALUATION_VERSION


def likeness(evaluation: dict) -> str:
    """One line of a voice's figures: each encoder's likeness to its recording, its base voices' in brackets."""
    return ", ".join(f"{encoder} {figures['clone']:.2f} (base voices {figures['base']:.2f})"
                     for encoder, figures in evaluation["similarity"].items())


class Command(BaseCommand):
    help = ("Measure cloned voices against their recordings, as a clone job does (the voice page's figures): "
            "voices cloned before clones measured themselves, and those made by chat turns and one-shot speech.")

    def add_arguments(self, parser):
        parser.add_argument("speaker_ids", nargs="*", help="only these voices (every account's versions of them)")
        parser.add_argument("--again", action="store_true", help="measure voices that have figures too")

    @no_translations  # English, as the other batch commands write
    def handle(self, *args, speaker_ids=(), again=False, **options):
        profiles = usable_profiles(SpeakerProfile.objects.all())  # a revoked voice is not spoken, not even to measure it
        if speaker_ids:
            profiles = profiles.filter(speaker_id__in=speaker_ids)
            unknown = sorted(set(speaker_ids) - set(profiles.values_list("speaker_id", flat=True)))
            if unknown:
                raise CommandError(f"no usable voice named {', '.join(unknown)} (a revoked voice is not measured)")
        measured = skipped = failed = 0
        for profile in profiles.order_by("speaker_id", "version").select_related("owner"):
            if not again and (profile.self_evaluation or {}).get("version") == EVALUATION_VERSION:
                continue
            name = f"{profile} ({profile.owner.username if profile.owner else 'no account'})"
            try:
                evaluation = measure_profile(profile)
            except VoiceNotMeasurable as exc:
                skipped += 1
                self.stdout.write(self.style.WARNING(f"skipped   {name}: {exc}"))
                continue
            except Exception as exc:  # one voice's missing clip does not stop the others' measurement
                failed += 1
                self.stderr.write(f"failed    {name}: {exc}")
                continue
            measured += 1
            self.stdout.write(f"measured  {name}: {likeness(evaluation)}")
        summary = f"{measured} measured, {skipped} skipped, {failed} failed"
        if failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
