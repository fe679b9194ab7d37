from rest_framework import serializers

from engines.talking_head import MODEL_TYPES


class ChatRequest(serializers.Serializer):
    model_name = serializers.CharField()
    model_param = serializers.CharField()
    voice_clone = serializers.CharField(required=False, allow_blank=True, default="false")
    api_choice = serializers.CharField(required=False, allow_blank=True, default="")
    speaker_id = serializers.CharField(required=False, allow_blank=True, default="")
    ref_audio = serializers.CharField(required=False, allow_blank=True, default="")
    pitch = serializers.FloatField(required=False, default=0.0, min_value=-12, max_value=12)

    def validate_model_name(self, value):
        if value not in MODEL_TYPES:
            raise serializers.ValidationError(f"不支持的模型类型 '{value}', 可选: {', '.join(MODEL_TYPES)}")
        return value
