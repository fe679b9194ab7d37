"""/save_audio stores a real PCM WAV; /chat_system validates its fields."""
import wave

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engines.testing.simple_media import write_encoded_audio

pytestmark = pytest.mark.django_db


def test_save_audio_converts_browser_webm_opus_named_wav(client, tmp_path, media_root):
    recorded = write_encoded_audio(tmp_path / "rec.webm", seconds=1.0)
    upload = SimpleUploadedFile("recording.wav", recorded.read_bytes(), content_type="audio/wav")
    response = client.post("/save_audio", {"audio": upload})
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "success", "message": "音频保存成功", "path": "media/audios/input.wav"}
    with wave.open(str(media_root / "audios/input.wav")) as stored:
        assert stored.getsampwidth() == 2 and stored.getnchannels() == 1 and stored.getframerate() == 16000
        assert stored.getnframes() == pytest.approx(16000, abs=800)
    assert client.get("/" + body["path"]).status_code == 200


def test_save_audio_replaces_previous_and_bad_input_keeps_it(client, tmp_path, media_root, wav_file):
    with open(wav_file, "rb") as handle:
        assert client.post("/save_audio", {"audio": handle}).status_code == 200
    before = (media_root / "audios/input.wav").read_bytes()
    for upload in (SimpleUploadedFile("x.wav", b"not audio at all" * 50), SimpleUploadedFile("x.wav", b"")):
        response = client.post("/save_audio", {"audio": upload})
        assert response.status_code == 400 and response.json()["status"] == "error"
    assert client.post("/save_audio", {}).status_code == 400
    assert (media_root / "audios/input.wav").read_bytes() == before
    assert sorted(p.name for p in (media_root / "audios").iterdir()) == ["input.wav"]


def test_a_recording_longer_than_a_recording_may_last_is_refused_and_keeps_the_previous(client, tmp_path, media_root, wav_file):
    # It was decoded whole into the web server's memory and written out whole, outside any quota: a 50 MB
    # low-bitrate upload lasts days, gigabytes of samples.
    from chat.recording import MAX_RECORDING_SECONDS

    with open(wav_file, "rb") as handle:
        assert client.post("/save_audio", {"audio": handle}).status_code == 200
    before = (media_root / "audios/input.wav").read_bytes()
    long_recording = tmp_path / "long.wav"
    with wave.open(str(long_recording), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\x10\x00\xf0\xff" * 4000 * int(MAX_RECORDING_SECONDS + 30))
    with open(long_recording, "rb") as handle:
        response = client.post("/save_audio", {"audio": handle})
    assert response.status_code == 400 and response.json()["status"] == "error"
    assert response.json()["message"] == "录音太长: 最多 10 分钟"
    assert (media_root / "audios/input.wav").read_bytes() == before
    assert sorted(p.name for p in (media_root / "audios").iterdir()) == ["input.wav"]


def test_a_recording_that_fails_on_our_side_answers_500_without_server_paths(client, wav_file, monkeypatch, caplog):
    def broken(upload, folder_name):
        raise PermissionError(13, "Permission denied", "/srv/echofu/media/audios/input.wav")

    monkeypatch.setattr("chat.views.save_recording", broken)
    with open(wav_file, "rb") as handle:
        response = client.post("/save_audio", {"audio": handle})
    assert response.status_code == 500
    assert response.json() == {"status": "error", "message": "音频保存失败: 服务器内部错误, 详情见服务器日志",
                               "localized_message": "音频保存失败: 服务器内部错误, 详情见服务器日志"}
    assert "/srv/echofu/media/audios/input.wav" in caplog.text


def test_chat_system_validates_fields(client):
    response = client.post("/chat_system", {"model_name": "Nope", "model_param": "x"})
    assert response.status_code == 400 and response.json()["status"] == "error"
    missing = client.post("/chat_system", {})
    assert missing.status_code == 400 and "model_name" in missing.json()["message"]


@pytest.mark.parametrize("voice_clone, cloned", [(None, True), ("", True), ("false", False), ("true", True)])
def test_ref_audio_without_voice_clone_answers_in_that_voice(client, model, tmp_path, monkeypatch, voice_clone, cloned):
    """The original frontend names the voice with ref_audio alone (no voice_clone field), as its backend took it."""
    from engines.testing.simple_media import write_tone_wav
    from monitoring import runner
    from monitoring.models import Job

    with open(write_tone_wav(tmp_path / "voice.wav", seconds=4.0), "rb") as handle:
        reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not run
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "ref_audio": reference,
            "api_choice": "glm-4-plus", "text": "Hello", "wait": "false"}
    if voice_clone is not None:
        form["voice_clone"] = voice_clone
    response = client.post("/chat_system", form)
    assert response.status_code == 202, response.content.decode()
    params = Job.objects.get(pk=response.json()["task_id"]).params
    assert params["voice_clone"] is cloned
    assert params["ref_audio_path"] == (reference.removeprefix("media/") if cloned else "")


def chat_refusal(client, model, **fields) -> str:
    from chat.models import Turn
    from monitoring.models import Job

    response = client.post("/chat_system", {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", **fields})
    body = response.json()
    assert response.status_code == 400 and body["status"] == "error", body
    assert not Turn.objects.exists() and not Job.objects.exists()
    return body["message"]


@pytest.mark.parametrize("engine, label, setting", [("xtts", "XTTS-v2", "ECHOFU_XTTS_DIR"), ("cosyvoice", "CosyVoice", "ECHOFU_COSYVOICE_URL")])
@pytest.mark.parametrize("question", [{"text": "Hello"}, {}], ids=["typed", "recorded"])
def test_a_turn_the_servers_voice_engine_cannot_speak_here_is_refused_before_it_starts(client, model, settings, wav_file, engine, label, setting,
                                                                                        question):
    """Not after the recording was transcribed and the model asked, as a failed voice stage."""
    from chat.models import Conversation

    with open(wav_file, "rb") as handle:
        client.post("/save_audio", {"audio": handle})
    conversation = Conversation.objects.create()
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": engine, "XTTS_DIR": "", "COSYVOICE_URL": ""}
    message = chat_refusal(client, model, conversation_id=conversation.pk, **question)
    assert message.startswith(f"服务器的语音引擎 {label} (ECHOFU_TTS_ENGINE) 不可用: ") and setting in message, message
    assert list(Conversation.objects.all()) == [conversation]


def test_a_cloning_server_engine_needs_a_voice_to_clone_and_no_pitch_before_a_turn_starts(client, model, settings, monkeypatch):
    from types import SimpleNamespace

    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "xtts"}
    monkeypatch.setattr("assets.speech.get_synthesizer", lambda name=None: SimpleNamespace(availability=lambda: (True, "")))
    assert chat_refusal(client, model, text="Hello") == "speaker_id: 服务器的语音引擎 XTTS-v2 (ECHOFU_TTS_ENGINE) 用说话人的参考录音克隆声音: 请指定说话人"
    assert chat_refusal(client, model, text="Hello", pitch="2") == "pitch: 服务器的语音引擎 XTTS-v2 (ECHOFU_TTS_ENGINE) 不支持音高调整, 请设为 0"


def test_chat_system_waiting_when_the_server_stops_answers_503_with_its_turn(client, model, monkeypatch):
    from monitoring import runner, shutdown
    from monitoring.models import Job

    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not begun when the stop comes
    shutdown.request_stop()
    try:
        response = client.post("/chat_system", {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}",
                                                "api_choice": "glm-4-plus", "text": "Hello"})
    finally:
        shutdown.forget()
    body = response.json()
    assert response.status_code == 503 and body["status"] == "error", body
    assert Job.objects.get(pk=body["task_id"]).status == Job.Status.QUEUED
    assert body["turn_url"] == f"/api/chat/turns/{body['turn_id']}"


def test_a_recording_that_cannot_be_decoded_says_why_in_chinese_and_in_the_pages_language(client):
    """It read '录音无法解码: not readable as audio or video (...)', with no localized_message for the English page."""
    client.cookies["django_language"] = "en"
    response = client.post("/save_audio", {"audio": SimpleUploadedFile("x.wav", b"not audio at all" * 50)})
    assert response.status_code == 400
    assert response.json() == {
        "status": "error", "message": "录音无法解码: 无法读取为音频或视频 (FFmpeg 原文: Invalid data found when processing input)",
        "localized_message": "the recording cannot be decoded: not readable as audio or video (FFmpeg says: Invalid data found when processing input)"}
    refused = client.post("/save_audio", {"audio": SimpleUploadedFile("x.exe", b"MZ")}).json()
    assert (refused["message"], refused["localized_message"]) == ("不支持的录音格式 '.exe'", "unsupported recording format '.exe'")
