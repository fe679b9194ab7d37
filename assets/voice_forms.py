"""Validation of the /audio_clone form: clone mode, generate mode, and the frontend's one-shot mode."""
import re

from django.conf import settings
from rest_framework import serializers

from assets import consent
from assets.catalog import find_catalog_audio
from assets.models import ReferenceAudio, SpeakerProfile
from echofu import ownership, paths
from echofu.messages import in_contract_language
from engines import media
from engines.text import NothingToSpeak, UnsupportedScript, speakable_chunks
from engines.voice.speaker import MAX_SECONDS, MIN_SECONDS
from engines.voice.synthesis import SYNTHESIZER_NAMES

SPEAKER_ID = re.compile(r"^[\w.-]{1,64}$")
PITCHLESS_ENGINES = ("xtts", "cosyvoice")  # they clone from the clip itself
MAX_PITCH_SEMITONES = 12


def reference_audio(value: str, user=None) -> str:
    """A reference recording of `user`'s, uploaded with a consent statement, long enough, and not
    too long, to clone a voice from."""
    try:
        relative = find_catalog_audio(value, user)
        consent.require_usable(ownership.owned(ReferenceAudio.objects.filter(file=relative), user).first(), "参考音频")
        duration = media.probe(paths.absolute(relative)).duration
    except (ValueError, media.MediaError) as exc:
        raise serializers.ValidationError(str(exc))
    if duration < MIN_SECONDS:
        raise serializers.ValidationError(f"参考音频太短: {duration:.1f} 秒, 至少需要 {MIN_SECONDS:.0f} 秒")
    if duration > MAX_SECONDS + 60:
        raise serializers.ValidationError(f"参考音频太长: {duration / 60:.1f} 分钟, 最多 {MAX_SECONDS / 60:.0f} 分钟")
    return relative


def check_speech_text(text: str, field: str) -> None:
    """Text sent to a speech engine: within the length limit, and with words to say (the engine's
    own rule), so a request it could only fail on is refused before a job is queued."""
    limit = settings.ECHOFU["TTS_MAX_CHARS"]
    if len(text) > limit:
        raise serializers.ValidationError({field: f"文本过长: {len(text)} 个字符, 上限 {limit}"})
    try:
        speakable_chunks(text)
    except UnsupportedScript:
        raise serializers.ValidationError({field: "暂不支持该语言的文字, 请输入中文或英文 (only Chinese and English text can be spoken)"})
    except NothingToSpeak:
        raise serializers.ValidationError({field: "文本中没有可朗读的文字 (只有标点或符号)"})


def speaker_id_for(relative_path: str) -> str:
    """A valid speaker id from a recording's file name (spaces and the like become _)."""
    stem = relative_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.sub(r"[^\w.-]+", "_", stem).strip("_")[:64] or "speaker"


def check_engine_speaks(engine: str, pitch: float, field: str, engine_named: str) -> None:
    """Refuse, before any job, a text that speech engine `engine` cannot speak here, or not at `pitch`;
    the refusal names the engine as `engine_named` (the form's choice, or the server's setting)."""
    from assets.speech import get_synthesizer

    usable, reason = get_synthesizer(engine).availability()
    if not usable:
        raise serializers.ValidationError({field: f"{engine_named} 不可用: {in_contract_language(reason)}"})
    if pitch and engine in PITCHLESS_ENGINES:
        raise serializers.ValidationError({"pitch": f"{engine_named} 不支持音高调整, 请将 pitch 设为 0"})


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
            raise serializers.ValidationError(f"未知的语音引擎 '{value}', 可选: {', '.join(SYNTHESIZER_NAMES)}")
        return value or settings.ECHOFU["TTS_ENGINE"]

    def validate(self, data):
        # Generate mode is a non-blank text (spec §11). Text sent blank without clone mode's own
        # original_audio_path still means generating (audio_id, one-shot): those hear the text is missing.
        generating = bool(data["generate_text"]) or ("generate_text" in self.initial_data and not data["original_audio_path"])
        reference = data["ref_audio_path"] or data["original_audio_path"]
        if generating:
            return self._generate(data, reference)
        if data["room_tone"]:
            raise serializers.ValidationError({"room_tone": "环境底噪只用于生成语音 (generate_text)"})
        if not reference:
            raise serializers.ValidationError({"original_audio_path": "请选择参考音频 (original_audio_path)"})
        data["mode"] = "clone"
        data["reference_path"] = reference_audio(reference, self.context.get("request"))
        speaker_id = data["target_audio_id"] or speaker_id_for(data["reference_path"])
        if not SPEAKER_ID.match(speaker_id):
            raise serializers.ValidationError({"target_audio_id": "说话人 ID 只能包含字母、数字、汉字、_ . -, 最长 64 个字符"})
        data["speaker_id"] = speaker_id
        return data

    def _generate(self, data, reference):
        text = data["generate_text"]
        if not text:
            raise serializers.ValidationError({"generate_text": "请输入要生成的文本内容"})
        check_speech_text(text, "generate_text")
        check_engine_speaks(data["engine"], data["pitch"], "engine", f"语音引擎 {data['engine']}")
        data["mode"] = "generate"
        data["reference_path"] = ""
        if data["audio_id"]:
            profiles = ownership.owned(SpeakerProfile.objects.filter(speaker_id=data["audio_id"]), self.context.get("request"))
            if not profiles.exists():
                raise serializers.ValidationError({"audio_id": f"未知的说话人 '{data['audio_id']}', 请先提取说话人特征"})
            if not consent.usable_profiles(profiles).exists():
                raise serializers.ValidationError({"audio_id": f"说话人 '{data['audio_id']}' 的参考音频授权已撤销, 不能再使用"})
            data["speaker_id"] = data["audio_id"]
        elif reference:
            data["reference_path"] = reference_audio(reference, self.context.get("request"))
            data["speaker_id"] = "ref_" + speaker_id_for(data["reference_path"])[:60]
        else:
            raise serializers.ValidationError({"audio_id": "请提供说话人 audio_id 或参考音频 ref_audio_path"})
        return data
