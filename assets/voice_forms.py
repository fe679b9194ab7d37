"""Validation of the /audio_clone form: clone mode, generate mode, and the frontend's one-shot mode."""
import re

from django.conf import settings
from rest_framework import serializers

from assets import consent
from assets.catalog import find_catalog_audio, recording_name
from assets.models import ReferenceAudio, SpeakerProfile
from echofu import ownership, paths
from echofu.availability import reason_for
from echofu.messages import reason_of
from echofu.responses import invalid
from engines import media
from engines.messages import Message, UnusableInput, gettext_noop
from engines.text import NothingToSpeak, UnsupportedScript, speakable_chunks
from engines.voice.speaker import MAX_SECONDS, MIN_SECONDS, check_audible_file
from engines.voice.synthesis import SYNTHESIZER_LABELS, SYNTHESIZER_NAMES

SPEAKER_ID = re.compile(r"^[\w.-]{1,64}$")
PITCHLESS_ENGINES = ("xtts", "cosyvoice")  # they clone from the clip itself
MAX_PITCH_SEMITONES = 12


def reference_audio(value: str, user, field: str) -> str:
    """A reference recording of `user`'s, uploaded with a consent statement, long enough, not too long,
    and loud enough, to clone a voice from; a refusal names the form's `field`."""
    try:
        relative = find_catalog_audio(value, user)
        consent.require_usable(ownership.owned(ReferenceAudio.objects.filter(file=relative), user).first(), consent.REFERENCE_AUDIO)
        duration = media.probe(paths.absolute(relative)).duration
    except (ValueError, media.MediaError) as exc:
        raise invalid(reason_of(exc), field)
    if duration < MIN_SECONDS:
        raise invalid(gettext_noop("the reference audio is too short: {seconds:.1f} s, at least {least:.0f} s are needed",
                                   seconds=duration, least=MIN_SECONDS), field)
    if duration > MAX_SECONDS + 60:
        raise invalid(gettext_noop("the reference audio is too long: {minutes:.1f} minutes, at most {most:.0f} minutes",
                                   minutes=duration / 60, most=MAX_SECONDS / 60), field)
    # A muted microphone's recording, refused before a job runs on it; one a voice was cloned from is not decoded
    # again (chat turns send their reference with every question)
    if not consent.usable_profiles(ownership.owned(SpeakerProfile.objects.filter(reference_path=relative), user)).exists():
        try:
            check_audible_file(paths.absolute(relative))
        except (UnusableInput, media.MediaError) as exc:
            raise invalid(reason_of(exc), field)
    return relative


def text_too_long(text: str, limit: int) -> Message:
    return gettext_noop("the text is too long: {length} characters, at most {limit}", length=len(text), limit=limit)


def unknown_speaker(speaker_id: str) -> Message:
    return gettext_noop("unknown speaker '{speaker_id}': extract the speaker's features first", speaker_id=speaker_id)


def revoked_speaker(speaker_id: str) -> Message:
    return gettext_noop("the consent for the reference audio of speaker '{speaker_id}' was revoked: it can no longer be used",
                        speaker_id=speaker_id)


def check_speech_text(text: str, field: str) -> None:
    """Text sent to a speech engine: within the length limit, and with words to say (the engine's
    own rule), so a request it could only fail on is refused before a job is queued."""
    limit = settings.ECHOFU["TTS_MAX_CHARS"]
    if len(text) > limit:
        raise invalid(text_too_long(text, limit), field)
    try:
        speakable_chunks(text)
    except UnsupportedScript:
        raise invalid(gettext_noop("only Chinese and English text can be spoken"), field)
    except NothingToSpeak:
        raise invalid(gettext_noop("the text has nothing to say (only punctuation or symbols)"), field)


def speaker_id_for(relative_path: str) -> str:
    """A valid speaker id from a recording's name (spaces and the like become _)."""
    return re.sub(r"[^\w.-]+", "_", recording_name(relative_path)).strip("_")[:64] or "speaker"


def check_engine_speaks(engine: str, pitch: float, field: str | None, engine_named: Message, request_or_user) -> None:
    """Refuse, before any job, a text that speech engine `engine` cannot speak here, or not at `pitch`;
    the refusal names the engine as `engine_named` (the form's choice, or the server's setting), and
    says why as `request_or_user` may read it."""
    from assets.speech import engine_availability

    usable, reason = engine_availability(engine)
    if not usable:
        raise invalid(gettext_noop("{engine} cannot run here: {reason}", engine=engine_named,
                                   reason=reason_for(reason, request_or_user)), field)
    if pitch and engine in PITCHLESS_ENGINES:
        raise invalid(gettext_noop("{engine} does not change the pitch: set it to 0", engine=engine_named), "pitch")


def check_server_engine_speaks(pitch: float, cloned_voice: bool, field: str | None, request_or_user) -> None:
    """Refuse, before any job, speech for the server's engine (ECHOFU_TTS_ENGINE: it speaks
    /video_generation's text and every chat answer) that it cannot give here; the job would fail at
    its voice stage, a chat turn only after transcribing and asking the model. `cloned_voice`: a
    speaker's recording to clone from is given, which XTTS and CosyVoice need."""
    engine = settings.ECHOFU["TTS_ENGINE"]
    # A misspelt setting has no label: it is named as it was set, and refused as an unknown engine.
    engine_named = gettext_noop("the server's speech engine {engine} ({setting})", engine=SYNTHESIZER_LABELS.get(engine, engine),
                                setting="ECHOFU_TTS_ENGINE")
    check_engine_speaks(engine, pitch, field, engine_named, request_or_user)
    if engine in PITCHLESS_ENGINES and not cloned_voice:
        raise invalid(gettext_noop("{engine} clones the voice from the speaker's reference recording: name the speaker",
                                   engine=engine_named), "speaker_id")


class AudioCloneRequest(serializers.Serializer):
    original_audio_path = serializers.CharField(required=False, allow_blank=True, default="")
    ref_audio_path = serializers.CharField(required=False, allow_blank=True, default="")
    target_audio_id = serializers.CharField(required=False, allow_blank=True, default="")
    audio_id = serializers.CharField(required=False, allow_blank=True, default="")
    gen_audio_id = serializers.CharField(required=False, allow_blank=True, default="")
    generate_text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)
    output_filename = serializers.CharField(required=False, allow_blank=True, default="")
    pitch = serializers.FloatField(required=False, default=0.0, min_value=-MAX_PITCH_SEMITONES, max_value=MAX_PITCH_SEMITONES)
    engine = serializers.CharField(required=False, allow_blank=True, default="")
    room_tone = serializers.BooleanField(required=False, default=False)

    def validate_engine(self, value):
        if value and value not in SYNTHESIZER_NAMES:
            raise invalid(gettext_noop("unknown speech engine '{name}', choose one of: {choices}", name=value, choices=", ".join(SYNTHESIZER_NAMES)))
        return value or settings.ECHOFU["TTS_ENGINE"]

    def validate(self, data):
        # Generate mode is a non-blank text (spec §11). Text sent blank without clone mode's own
        # original_audio_path still means generating (audio_id, one-shot): those hear the text is missing.
        generating = bool(data["generate_text"]) or ("generate_text" in self.initial_data and not data["original_audio_path"])
        reference = data["ref_audio_path"] or data["original_audio_path"]
        reference_field = "ref_audio_path" if data["ref_audio_path"] else "original_audio_path"
        if generating:
            return self._generate(data, reference, reference_field)
        if data["room_tone"]:
            raise invalid(gettext_noop("the room tone is only for generating speech (generate_text)"), "room_tone")
        if not reference:
            raise invalid(gettext_noop("choose a reference audio"), "original_audio_path")
        data["mode"] = "clone"
        data["reference_path"] = reference_audio(reference, self.context.get("request"), reference_field)
        speaker_id = data["target_audio_id"] or speaker_id_for(data["reference_path"])
        if not SPEAKER_ID.match(speaker_id):
            raise invalid(gettext_noop("a speaker ID holds only letters, digits, Chinese characters, _ . - and at most 64 characters"),
                          "target_audio_id")
        data["speaker_id"] = speaker_id
        return data

    def _generate(self, data, reference, reference_field):
        text = data["generate_text"]
        if not text:
            raise invalid(gettext_noop("enter the text to generate"), "generate_text")
        check_speech_text(text, "generate_text")
        check_engine_speaks(data["engine"], data["pitch"], "engine", gettext_noop("speech engine {engine}", engine=SYNTHESIZER_LABELS[data["engine"]]),
                            self.context.get("request"))
        data["mode"] = "generate"
        data["reference_path"] = ""
        if data["audio_id"]:
            profiles = ownership.owned(SpeakerProfile.objects.filter(speaker_id=data["audio_id"]), self.context.get("request"))
            if not profiles.exists():
                raise invalid(unknown_speaker(data["audio_id"]), "audio_id")
            if not consent.usable_profiles(profiles).exists():
                raise invalid(revoked_speaker(data["audio_id"]), "audio_id")
            data["speaker_id"] = data["audio_id"]
        elif reference:
            data["reference_path"] = reference_audio(reference, self.context.get("request"), reference_field)
            data["speaker_id"] = "ref_" + speaker_id_for(data["reference_path"])[:60]
        else:
            raise invalid(gettext_noop("name a speaker, or give a reference audio in ref_audio_path"), "audio_id")
        return data
