"""A failed turn's error in the reader's language: the chat page shows it in the page's language, and
/chat_system's `message` stays in the contract's Chinese."""
import pytest

from chat import providers
from chat.models import Turn
from engines.llm import LLMError

pytestmark = pytest.mark.django_db


def ask(client, model, code, **fields):
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "voice_clone": "false", "api_choice": "fake", **fields}
    response = client.post("/chat_system", form)
    assert response.status_code == code, response.content.decode()
    return response.json()


def turn_error(client, turn_id, language=None):
    if language:
        client.cookies["django_language"] = language
    return client.get(f"/api/chat/turns/{turn_id}").json()["error"]


def test_an_unavailable_llm_is_named_in_the_pages_language(client, model, renderer, llm_server, monkeypatch):
    def unavailable(provider):
        raise LLMError("connection refused")

    monkeypatch.setattr(providers, "chat_model", unavailable)
    client.cookies["django_language"] = "en"
    body = ask(client, model, 502, text="Hello")
    assert body["message"] == "生成回复阶段失败: 大模型不可用: connection refused", "the stage named as the chat page names it"
    assert body["localized_message"] == "reply stage failed: LLM unavailable: connection refused"
    assert body["stage"] == "llm"
    turn = Turn.objects.get(pk=body["turn_id"])
    assert turn.error == "大模型不可用: connection refused"  # what the admin shows, as before
    assert turn_error(client, turn.pk, "en") == "LLM unavailable: connection refused"
    assert turn_error(client, turn.pk, "zh-hans") == "大模型不可用: connection refused"
    assert client.get("/api/history/chat").json()[0]["error"] == "大模型不可用: connection refused"


def test_a_missing_recording_is_named_in_the_pages_language(client, model, renderer):
    client.cookies["django_language"] = "en"
    body = ask(client, model, 400)
    assert body["message"] == "读取提问阶段失败: 没有录音: 请先通过 /save_audio 上传录音, 或提供 text"
    assert body["localized_message"].startswith("reading the question stage failed: no recording")
    assert turn_error(client, body["turn_id"], "en").startswith("no recording")


def test_a_turn_stored_before_errors_kept_their_template_shows_its_text(client, model):
    from chat.models import Conversation

    turn = Turn.objects.create(conversation=Conversation.objects.create(), status=Turn.Status.FAILED, error_stage="llm", error="大模型不可用")
    assert turn_error(client, turn.pk, "en") == "大模型不可用"


@pytest.mark.parametrize("server, chinese, english", [
    ({"status": 500}, "fake: 服务器返回 HTTP 500: ", "fake: the server answered HTTP 500: "),
    ({"status": 401}, "fake: 服务器拒绝了 API 密钥 (HTTP 401)", "fake: the server refused the API key (HTTP 401)"),
    ({"delay": 5.0}, "fake: 在超时时间内没有回答", "fake: no answer within the timeout"),
], ids=["server-error", "key-refused", "timeout"])
def test_an_llm_server_that_fails_mid_turn_is_named_in_the_pages_language(client, model, renderer, settings, server, chinese, english):
    from engines.testing.fake_openai import FakeOpenAIServer

    with FakeOpenAIServer(**server) as failing:
        settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"fake": {"base_url": failing.base_url, "api_key": "sk-test-1234", "model": "guide"}},
                           "LLM_TIMEOUT_SECONDS": 1.0, "LLM_RETRIES": 0}
        client.cookies["django_language"] = "en"
        body = ask(client, model, 502, text="Hello")
    assert body["message"].startswith("生成回复阶段失败: " + chinese), body
    assert body["localized_message"].startswith("reply stage failed: " + english)
    assert turn_error(client, body["turn_id"], "zh-hans").startswith(chinese)


def test_a_failed_turns_job_names_its_stage_as_the_pages_do(client, model, renderer, llm_server, monkeypatch):
    """The chat page's job card shows the job's error: the stage by its name in the page's language
    ("[llm] ..." showed the stage's identifier, in English on a Chinese page too)."""
    def unavailable(provider):
        raise LLMError("connection refused")

    monkeypatch.setattr(providers, "chat_model", unavailable)
    body = ask(client, model, 502, text="Hello")
    client.cookies["django_language"] = "en"
    assert client.get(f"/api/tasks/{body['task_id']}").json()["error"] == "reply stage failed: LLM unavailable: connection refused"
    client.cookies["django_language"] = "zh-hans"
    assert client.get(f"/api/tasks/{body['task_id']}").json()["error"] == "生成回复阶段失败: 大模型不可用: connection refused"
