"""Validation of the /chat_system form (documented fields + the original frontend's ref_audio + additions)."""
from django.conf import settings
from rest_framework import serializers

from assets import consent
from assets.models import SpeakerProfile
from assets.voice_forms import MAX_PITCH_SEMITONES, check_server_engine_speaks, reference_audio, text_too_long, unknown_speaker
from chat.models import Conversation
from echofu import ownership
from echofu.env import BOOLEAN_WORDS
from echofu.responses import invalid
from engines.messages import Message, gettext_noop
from generation.forms import ModelChoice


def conversation_missing(conversation_id: int) -> Message:
    return gettext_noop("no such conversation: {conversation_id}", conversation_id=conversation_id)


class ChatRequest(ModelChoice):
    # Left out, it follows whether a voice is named: the original frontend sends ref_audio without voice_clone.
    voice_clone = serializers.CharField(required=False, allow_blank=True, default="")
    api_choice = serializers.CharField(required=False, allow_blank=True, default="")
    speaker_id = serializers.CharField(required=False, allow_blank=True, default="")
    ref_audio = serializers.CharField(required=False, allow_blank=True, default="")
    pitch = serializers.FloatField(required=False, default=0.0, min_value=-MAX_PITCH_SEMITONES, max_value=MAX_PITCH_SEMITONES)
    # Additions: typed text instead of the recording, the conversation to continue, and not waiting.
    text = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True)
    conversation_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    wait = serializers.CharField(required=False, allow_blank=True, default="true")

    def validate_text(self, value):
        limit = settings.ECHOFU["TTS_MAX_CHARS"]
        if len(value) > limit:
            raise invalid(text_too_long(value, limit))
        return value

    def validate_wait(self, value):
        value = value.strip().lower()
        if not value:
            return True
        if value not in BOOLEAN_WORDS:  # a typo would answer 202 to a client that waits for the video, or block one that polls
            raise invalid(gettext_noop("must be true or false (also 1/0, yes/no, on/off)"))
        return BOOLEAN_WORDS[value]

    def validate(self, data):
        request = self.context.get("request")
        data["model"] = self.chosen_model(data)
        voice_clone = data["voice_clone"].strip().lower()
        data["voice_clone"] = BOOLEAN_WORDS.get(voice_clone, False) if voice_clone else bool(data["speaker_id"] or data["ref_audio"])
        data["api_choice"] = data["api_choice"].strip().lower()
        if data["conversation_id"] is not None and not ownership.owned(Conversation.objects, request).filter(pk=data["conversation_id"]).exists():
            raise invalid(conversation_missing(data["conversation_id"]), "conversation_id")
        data["ref_audio_path"] = ""
        if data["voice_clone"]:
            if data["speaker_id"]:
                profiles = consent.usable_profiles(ownership.owned(SpeakerProfile.objects, request))
                if not profiles.filter(speaker_id=data["speaker_id"]).exists():
                    raise invalid(unknown_speaker(data["speaker_id"]), "speaker_id")
            elif data["ref_audio"]:
                # The voice is cloned from it: the same checks as /audio_clone, consent included.
                data["ref_audio_path"] = reference_audio(data["ref_audio"], request, "ref_audio")
            else:
                raise invalid(gettext_noop("voice cloning needs speaker_id or a reference audio ref_audio"), "voice_clone")
        # Every answer is spoken, a typed question's or a recording's: no field of the form is at fault.
        check_server_engine_speaks(data["pitch"], data["voice_clone"], None, request)
        return data
