"""Where the server's CosyVoice and LLM servers are, as each account reads it: the operators (staff,
single-user mode's local account) read the address in an engine's reason, the other accounts of a
multi-user studio read "the configured server"; nobody reads the address or an API key in a job's error."""
import pytest
from django.test import Client

from accounts.tests.conftest import error_message
from chat.models import Turn
from echofu import availability
from engines.testing.fake_openai import FakeOpenAIServer
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db

COSYVOICE_SERVER = "http://127.0.0.1:1"  # nothing listens there: "does not answer"
HOSTED_LLM = "https://llm.internal.example:8443/v1"
LAN_LLM = "http://10.20.30.40:8000/v1"
ADDRESSES = ("127.0.0.1:1", "llm.internal.example", "10.20.30.40")
API_KEY = "sk-lan-secret-0123456789"


@pytest.fixture(autouse=True)
def servers_configured(settings):
    settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "cosyvoice", "COSYVOICE_URL": COSYVOICE_SERVER, "LLM_PROVIDERS": {
        "hosted": {"base_url": HOSTED_LLM, "api_key": "", "model": "guide"},
        "lan": {"base_url": LAN_LLM, "api_key": API_KEY, "model": "guide"},
    }}
    availability.forget()
    yield
    availability.forget()


def owned_model(media_root, owner) -> TalkingHeadModel:
    (media_root / "models/EchoLite/guide").mkdir(parents=True, exist_ok=True)
    return TalkingHeadModel.objects.create(model_type="EchoLite", name="guide", owner=owner)


def answers(client, owner, media_root, language) -> dict:
    """Every answer that says why the CosyVoice server or an LLM provider cannot be used, or where it is."""
    client.cookies["django_language"] = language
    model = owned_model(media_root, owner)
    listed = client.get("/api/engines").json()
    model_fields = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}"}
    refusals = {
        "/audio_clone": client.post("/audio_clone", {"generate_text": "hello there", "engine": "cosyvoice", "audio_id": "nobody"}),
        "/video_generation": client.post("/video_generation", {**model_fields, "target_text": "hello"}),
        "/chat_system": client.post("/chat_system", {**model_fields, "text": "hello", "voice_clone": "false"}),
    }
    shown = {f"{row['name']} reason": row["reason"] for row in listed["speech_engines"] + listed["chat_providers"]}
    for endpoint, response in refusals.items():
        error_message(response, 400)
        shown[endpoint] = response.json()["message"]
        shown[f"{endpoint} localized"] = response.json()["localized_message"]
    return shown


@pytest.mark.parametrize("language, neutral", [("en", "the configured server"), ("zh-hans", "已配置的服务器")])
def test_an_account_reads_the_configured_server_not_its_address(as_alice, alice, media_root, language, neutral):
    shown = answers(as_alice, alice, media_root, language)
    leaking = {where: text for where, text in shown.items() if any(address in text for address in ADDRESSES)}
    assert leaking == {}
    assert neutral in shown["cosyvoice reason"] and neutral in shown["hosted reason"] and neutral in shown["lan reason"]
    assert neutral in shown["/audio_clone localized"] and "已配置的服务器" in shown["/chat_system"]


@pytest.mark.parametrize("who", ["staff", "single-user mode's local account"])
def test_who_runs_the_server_reads_its_address(who, request, media_root):
    if who == "staff":
        client, owner = request.getfixturevalue("as_staff"), request.getfixturevalue("staff")
    else:
        client, owner = Client(), None
    shown = answers(client, owner, media_root, "en")
    assert COSYVOICE_SERVER in shown["cosyvoice reason"] and "llm.internal.example" in shown["hosted reason"]
    assert "10.20.30.40" in shown["lan reason"]
    for endpoint in ("/audio_clone", "/video_generation", "/chat_system"):
        assert COSYVOICE_SERVER in shown[f"{endpoint} localized"], shown


def test_a_chat_turn_failing_at_its_llm_stage_names_neither_the_provider_nor_its_key(as_alice, alice, media_root, settings):
    with FakeOpenAIServer(status=500) as server:
        server.error_message = f"no model guide at {server.base_url} for key {{key}} (echoed from {server.base_url[:-3]})"
        settings.ECHOFU = {**settings.ECHOFU, "TTS_ENGINE": "default", "LLM_RETRIES": 0, "LLM_TIMEOUT_SECONDS": 2.0,
                           "LLM_PROVIDERS": {"lan": {"base_url": server.base_url, "api_key": API_KEY, "model": "guide"}}}
        model = owned_model(media_root, alice)
        response = as_alice.post("/chat_system", {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}",
                                                   "text": "Hello", "voice_clone": "false", "api_choice": "lan"})
        address = server.base_url.split("/")[2]
    body = response.json()
    assert response.status_code == 502 and body["status"] == "error" and body["stage"] == "llm", body
    turn = Turn.objects.get(pk=body["turn_id"])
    shown = [response.content.decode(), as_alice.get(f"/api/chat/turns/{turn.pk}").content.decode(),
             as_alice.get(f"/api/tasks/{body['task_id']}").content.decode()]
    assert turn.status == "failed" and "HTTP 500" in turn.error
    for text in shown:
        assert address not in text and API_KEY not in text, text
    assert "已配置的服务器" in body["message"]


def test_a_one_word_host_is_hidden_with_its_port_and_url_but_not_as_the_word_it_also_is(settings):
    """A compose file's `http://ollama:11434/v1`: the provider named `ollama` stays readable, its address does not."""
    from django.utils import translation

    from echofu.messages import localized, without_server_addresses

    settings.ECHOFU = {**settings.ECHOFU, "COSYVOICE_URL": "http://cosyvoice", "LLM_PROVIDERS": {
        "ollama": {"base_url": "http://ollama:11434/v1", "api_key": "", "model": "guide"}}}
    with translation.override("en"):
        shown = localized(without_server_addresses(
            "ollama: no answer from http://ollama:11434/v1/chat/completions (ollama:11434); the speech engine cosyvoice at http://cosyvoice"))
    assert shown == ("ollama: no answer from the configured server (the configured server); "
                     "the speech engine cosyvoice at the configured server")
