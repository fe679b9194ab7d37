"""Validation of the /video_generation form."""
from django.conf import settings
from rest_framework import serializers

from assets import consent
from assets.catalog import find_catalog_audio
from assets.models import SpeakerProfile
from assets.voice_forms import MAX_PITCH_SEMITONES, check_server_engine_speaks, check_speech_text, revoked_speaker, unknown_speaker
from echofu import ownership, paths
from echofu.availability import reason_for
from echofu.messages import reason_of
from echofu.responses import invalid
from engines import media
from engines.messages import gettext_noop
from training.engines import availability as engine_availability
from training.forms import known_model_type, valid_gpu_choice
from training.registry import find_model, unusable_reason


class ModelChoice(serializers.Serializer):
    """The documented model_name + model_param pair: a registered, usable model the caller owns, of an
    engine that can run here.

    The model that model_param names renders as its own type: the original frontend's pages offer only
    ER-NeRF and SyncTalk as model_name while listing every model, EchoLite's included."""

    model_name = serializers.CharField()
    model_param = serializers.CharField()

    def validate_model_name(self, value):
        return known_model_type(value)

    def chosen_model(self, data):
        request = self.context.get("request")
        model = find_model(data["model_param"], None, request)
        if model is None:
            raise invalid(gettext_noop("no such model: {path}", path=data["model_param"]), "model_param")
        if consent.model_disabled(model):
            raise invalid(gettext_noop("the consent for this model's training video was revoked: the model is disabled"), "model_param")
        unusable = unusable_reason(model)
        if unusable is not None:  # else the job, queued behind others, would fail only when it loads the model
            raise invalid(unusable, "model_param")
        # A model of an engine this machine cannot run (an ER-NeRF model whose checkout went) fails its
        # render; in a chat turn, only after the transcription, the reply and the voice.
        usable, reason = engine_availability(model.model_type)
        if not usable:
            raise invalid(gettext_noop("{engine} cannot run here: {reason}", engine=model.model_type,
                                       reason=reason_for(reason, request)), "model_param")
        return model


class GenerationRequest(ModelChoice):
    ref_audio = serializers.CharField(required=False, allow_blank=True, default="")
    target_text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)
    gpu_choice = serializers.CharField(required=False, default="GPU0")
    speaker_id = serializers.CharField(required=False, allow_blank=True, default="")
    pitch = serializers.FloatField(required=False, default=0.0, min_value=-MAX_PITCH_SEMITONES, max_value=MAX_PITCH_SEMITONES)
    pitch_quality = serializers.CharField(required=False, allow_blank=True, default="")
    room_tone = serializers.BooleanField(required=False, default=False)

    def validate_gpu_choice(self, value):
        return valid_gpu_choice(value)

    def validate(self, data):
        request = self.context.get("request")
        data["model"] = self.chosen_model(data)
        if data["room_tone"] and not (data["target_text"] and data["speaker_id"]):
            raise invalid(gettext_noop("the room tone comes from the speaker's reference recording: it needs target_text and speaker_id"),
                          "room_tone")
        if data["target_text"]:
            self._check_speech_request(data, request)
        else:
            if not data["ref_audio"]:
                raise invalid(gettext_noop("give a reference audio, or a text to speak in target_text"), "ref_audio")
            try:
                data["audio_path"] = find_catalog_audio(data["ref_audio"], request)
                duration = media.probe(paths.absolute(data["audio_path"])).duration
            except (ValueError, media.MediaError) as exc:
                raise invalid(reason_of(exc), "ref_audio")
            most = settings.ECHOFU["MAX_RENDER_SECONDS"]
            if duration > most:
                # Its render would hold the whole speech in memory and make 25 frames for each second of it.
                raise invalid(gettext_noop("the audio is too long to render: {minutes:.1f} minutes, at most {most:.0f} minutes",
                                           minutes=duration / 60, most=most / 60), "ref_audio")
        return data

    @staticmethod
    def _check_speech_request(data, request):
        check_speech_text(data["target_text"], "target_text")
        check_server_engine_speaks(data["pitch"], bool(data["speaker_id"]), "target_text", request)
        if not data["speaker_id"]:
            return
        profiles = ownership.owned(SpeakerProfile.objects.filter(speaker_id=data["speaker_id"]), request)
        if not profiles.exists():
            raise invalid(unknown_speaker(data["speaker_id"]), "speaker_id")
        if not consent.usable_profiles(profiles).exists():
            raise invalid(revoked_speaker(data["speaker_id"]), "speaker_id")
