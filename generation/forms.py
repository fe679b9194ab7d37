"""Validation of the /video_generation form."""
from django.conf import settings
from rest_framework import serializers

from assets import consent
from assets.catalog import find_catalog_audio
from assets.models import SpeakerProfile
from echofu import ownership
from assets.voice_forms import MAX_PITCH_SEMITONES, PITCHLESS_ENGINES, check_engine_speaks, check_speech_text
from engines.talking_head import MODEL_TYPES, model_type_named
from monitoring.devices import parse_gpu_choice
from training.registry import find_model


class ModelChoice(serializers.Serializer):
    """The documented model_name + model_param pair: a registered, usable model the caller owns.

    The model that model_param names renders as its own type: the original frontend's pages offer only
    ER-NeRF and SyncTalk as model_name while listing every model, EchoLite's included."""

    model_name = serializers.CharField()
    model_param = serializers.CharField()

    def validate_model_name(self, value):
        model_type = model_type_named(value)
        if model_type is None:
            raise serializers.ValidationError(f"不支持的模型类型 '{value}', 可选: {', '.join(MODEL_TYPES)}")
        return model_type

    def chosen_model(self, data):
        model = find_model(data["model_param"], None, self.context.get("request"))
        if model is None:
            raise serializers.ValidationError({"model_param": f"模型不存在: {data['model_param']}"})
        if consent.model_disabled(model):
            raise serializers.ValidationError({"model_param": "该模型的训练视频授权已撤销, 模型已停用"})
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
        try:
            return parse_gpu_choice(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc))

    def validate(self, data):
        request = self.context.get("request")
        data["model"] = self.chosen_model(data)
        if data["room_tone"] and not (data["target_text"] and data["speaker_id"]):
            raise serializers.ValidationError({"room_tone": "环境底噪取自说话人的参考录音: 需要 target_text 和 speaker_id"})
        if data["target_text"]:
            self._check_speech_request(data, request)
        else:
            if not data["ref_audio"]:
                raise serializers.ValidationError({"ref_audio": "请提供参考音频 ref_audio 或目标文本 target_text"})
            try:
                data["audio_path"] = find_catalog_audio(data["ref_audio"], request)
            except ValueError as exc:
                raise serializers.ValidationError({"ref_audio": str(exc)})
        return data

    @staticmethod
    def _check_speech_request(data, request):
        check_speech_text(data["target_text"], "target_text")
        # The text is spoken by the server's engine: one that cannot speak here would fail the render's job.
        engine = settings.ECHOFU["TTS_ENGINE"]
        engine_named = f"服务器的语音引擎 {engine} (ECHOFU_TTS_ENGINE)"
        check_engine_speaks(engine, data["pitch"], "target_text", engine_named)
        if engine in PITCHLESS_ENGINES and not data["speaker_id"]:
            raise serializers.ValidationError({"speaker_id": f"{engine_named} 用说话人的参考录音克隆声音: 请提供 speaker_id"})
        if not data["speaker_id"]:
            return
        profiles = ownership.owned(SpeakerProfile.objects.filter(speaker_id=data["speaker_id"]), request)
        if not profiles.exists():
            raise serializers.ValidationError({"speaker_id": f"未知的说话人 '{data['speaker_id']}', 请先提取说话人特征"})
        if not consent.usable_profiles(profiles).exists():
            raise serializers.ValidationError({"speaker_id": f"说话人 '{data['speaker_id']}' 的参考音频授权已撤销, 不能再使用"})
