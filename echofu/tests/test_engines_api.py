"""/api/engines: which speech engines and chat providers can run here, and why one cannot."""
import pytest

from echofu import availability
from engines.llm import packaged_availability

pytestmark = pytest.mark.django_db


def by_name(rows):
    return {row["name"]: row for row in rows}


def test_engines_not_set_up_here_are_listed_unavailable_with_the_setting_to_set(client, settings):
    settings.ECHOFU = {**settings.ECHOFU, "XTTS_DIR": None, "COSYVOICE_URL": ""}
    body = client.get("/api/engines").json()
    assert body["status"] == "success"
    speech = by_name(body["speech_engines"])
    assert list(speech) == ["default", "xtts", "cosyvoice"]
    assert speech["default"]["available"] is True
    assert speech["xtts"]["available"] is False and "ECHOFU_XTTS_DIR" in speech["xtts"]["reason"]
    assert speech["cosyvoice"]["available"] is False and "ECHOFU_COSYVOICE_URL" in speech["cosyvoice"]["reason"]


def test_the_servers_own_speech_engine_is_marked_as_the_default(client, settings):
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "xtts", "XTTS_DIR": None}
    speech = by_name(client.get("/api/engines").json()["speech_engines"])
    assert {name: row["default"] for name, row in speech.items()} == {"default": False, "xtts": True, "cosyvoice": False}
    assert speech["xtts"]["available"] is False  # the generate page warns: its text would not be spoken


@pytest.mark.parametrize("language, xtts_reason, glm_reason", [
    ("zh-hans", "未配置 XTTS-v2 模型目录 (请设置 ECHOFU_XTTS_DIR)", "open.bigmodel.cn 是托管服务器, 但没有 API 密钥 (请设置 ECHOFU_LLM_GLM_API_KEY)"),
    ("en", "XTTS-v2 model directory is not configured (set ECHOFU_XTTS_DIR)", "no API key for open.bigmodel.cn, a hosted server (set ECHOFU_LLM_GLM_API_KEY)"),
])
def test_why_an_engine_cannot_run_is_said_in_the_pages_language(client, settings, language, xtts_reason, glm_reason):
    settings.ECHOFU = {**settings.ECHOFU, "XTTS_DIR": None, "LLM_PROVIDERS": {
        "glm": {"base_url": "https://open.bigmodel.cn/api/paas/v4", "api_key": "", "model": "glm-4-flash"}}}
    client.cookies["django_language"] = language
    body = client.get("/api/engines").json()
    assert by_name(body["speech_engines"])["xtts"]["reason"] == xtts_reason
    assert by_name(body["chat_providers"])["glm"]["reason"] == glm_reason


@pytest.mark.slow
def test_an_xtts_directory_and_a_cosyvoice_server_make_them_available(client, settings, tmp_path):
    from engines.testing.fake_cosyvoice import FakeCosyVoice
    from engines.testing.tiny_xtts import write_tiny_xtts

    with FakeCosyVoice() as server:
        settings.ECHOFU = {**settings.ECHOFU, "XTTS_DIR": str(write_tiny_xtts(tmp_path / "xtts")), "COSYVOICE_URL": server.url}
        speech = by_name(client.get("/api/engines").json()["speech_engines"])
    assert speech["xtts"]["available"] is True and str(tmp_path / "xtts") in speech["xtts"]["reason"]
    assert speech["cosyvoice"] == {"name": "cosyvoice", "label": "CosyVoice", "available": True, "reason": f"{server.url} 上的 CosyVoice 服务器",
                                   "default": False}


def test_the_cosyvoice_server_is_asked_once_a_minute_not_on_every_page_load(client, settings, monkeypatch):
    from engines.voice.cosyvoice import CosyVoiceSynthesizer

    asked = []
    monkeypatch.setattr(CosyVoiceSynthesizer, "availability", lambda self: asked.append(self.base_url) or (False, "down"))
    settings.ECHOFU = {**settings.ECHOFU, "COSYVOICE_URL": "http://127.0.0.1:9"}
    for _ in range(3):
        assert by_name(client.get("/api/engines").json()["speech_engines"])["cosyvoice"]["reason"] == "down"
    assert asked == ["http://127.0.0.1:9"]
    monkeypatch.setattr(availability, "TTL_SECONDS", 0.0)
    client.get("/api/engines")
    assert len(asked) == 2


def test_chat_providers_say_which_can_answer(client, settings):
    settings.ECHOFU = {**settings.ECHOFU, "LLM_DEFAULT": "ollama", "LLM_PROVIDERS": {
        "glm": {"base_url": "https://open.bigmodel.cn/api/paas/v4", "api_key": "", "model": "glm-4-flash"},
        "ollama": {"base_url": "http://127.0.0.1:11434/v1", "api_key": "", "model": "qwen2.5"},
    }}
    providers = by_name(client.get("/api/engines").json()["chat_providers"])
    assert list(providers) == ["local", "fallback", "glm", "ollama"]
    assert providers["glm"]["available"] is False and "ECHOFU_LLM_GLM_API_KEY" in providers["glm"]["reason"]
    assert providers["ollama"]["available"] is True and providers["ollama"]["default"] is True
    assert providers["fallback"]["available"] is True and providers["local"]["default"] is False
    assert providers["local"]["available"] is packaged_availability(settings.ECHOFU["LLM_LOCAL_MODEL"])[0]


def test_the_legacy_listing_keeps_its_shape(client):
    body = client.get("/api/available-models").json()
    assert set(body) == {"status", "models", "total_count", "engines"}
    assert {tuple(engine) for engine in body["engines"]} == {("type", "available", "reason")}


@pytest.mark.parametrize("language, default_label", [
    ("zh-hans", "默认 (离线: Piper, Kokoro, espeak-ng + WORLD)"),
    ("en", "Default (offline: Piper, Kokoro, espeak-ng + WORLD)"),
])
def test_each_speech_engine_has_the_name_the_voice_page_shows_in_the_pages_language(client, language, default_label):
    client.cookies["django_language"] = language
    labels = {row["name"]: row["label"] for row in client.get("/api/engines").json()["speech_engines"]}
    assert labels == {"default": default_label, "xtts": "XTTS-v2", "cosyvoice": "CosyVoice"}
    page = client.get("/voice/").content.decode()
    for name, label in labels.items():
        assert f'<option value="{name}">{label}</option>' in page


def test_a_refused_engine_is_named_as_the_voice_page_names_it(client, settings):
    settings.ECHOFU = {**settings.ECHOFU, "XTTS_DIR": None}
    client.cookies["django_language"] = "en"
    response = client.post("/audio_clone", {"generate_text": "hello there", "engine": "xtts"})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "engine: 语音引擎 XTTS-v2 不可用: 未配置 XTTS-v2 模型目录 (请设置 ECHOFU_XTTS_DIR)"
    assert body["localized_message"] == "engine: speech engine XTTS-v2 cannot run here: XTTS-v2 model directory is not configured (set ECHOFU_XTTS_DIR)"


@pytest.mark.parametrize("language, fallback_label, fallback_reason", [
    ("zh-hans", "不用大模型 (知识库)", "用知识库回答, 否则用角色的备用回复"),
    ("en", "no language model (knowledge base)", "answers from the knowledge base, else the persona's fallback reply"),
])
def test_the_built_in_chat_providers_are_named_and_explained_in_the_pages_language(client, settings, language, fallback_label,
                                                                                   fallback_reason):
    settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {
        "ollama": {"base_url": "http://127.0.0.1:11434/v1", "api_key": "", "model": "qwen2.5"}}}
    client.cookies["django_language"] = language
    providers = by_name(client.get("/api/engines").json()["chat_providers"])
    assert (providers["fallback"]["label"], providers["fallback"]["reason"]) == (fallback_label, fallback_reason)
    assert providers["local"]["label"].endswith(settings.ECHOFU["LLM_LOCAL_MODEL"]) and providers["local"]["label"] != "local"
    assert providers["ollama"]["label"] == "ollama"  # a configured server goes by the name its settings give it


@pytest.mark.parametrize("language, reason", [("zh-hans", "内置模型, 可在 CPU 或 CUDA 上运行"), ("en", "embedded model, runs on CPU or CUDA")])
def test_echolite_says_what_it_runs_on_in_the_pages_language(client, language, reason):
    """The training, generation and chat pages show it as the EchoLite option's tooltip: it stayed English on the Chinese pages."""
    client.cookies["django_language"] = language
    engines = {row["type"]: row for row in client.get("/api/available-models").json()["engines"]}
    assert engines["EchoLite"] == {"type": "EchoLite", "available": True, "reason": reason}
