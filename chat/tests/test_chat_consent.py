"""Chat speaks in a cloned voice only while its consent stands (as /audio_clone does), and says so in provenance."""
import numpy as np
import pytest

from assets.models import ReferenceAudio, SpeakerProfile
from chat.models import Conversation, Turn
from engines import media
from engines.testing.fake_openai import FakeOpenAIServer
from engines.testing.voices import other_speaker
from monitoring import runner
from monitoring.models import Job
from provenance.models import ProvenanceRecord

pytestmark = pytest.mark.django_db

REVOKED = "参考音频的授权已被撤销, 不能再使用"


def upload_reference(client, folder) -> str:
    """A recording long enough to clone a voice from, uploaded with consent: its media path."""
    path = folder / "anna.wav"
    media.write_wav(path, other_speaker("Please call Stella. Ask her to bring these things with her from the store."), 16000)
    with open(path, "rb") as handle:
        return client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]


def run_accepted_turn(owner, model, before_it_runs=lambda: None, **params) -> Turn:
    """A chat turn queued as /chat_system queues it, run after `before_it_runs`."""
    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=owner), input_text="Hello")
    params = {"turn_id": turn.pk, "model_id": model.pk, "api_choice": "fake", "voice_clone": True, "speaker_id": "",
              "ref_audio_path": "", "pitch": 0.0, **params}
    turn.job = runner.new_job(Job.Kind.CHAT, params, owner=owner, prefix="chat")
    turn.save(update_fields=["job"])
    before_it_runs()
    runner.submit(turn.job)
    turn.refresh_from_db()
    return turn


@pytest.fixture
def revoked_reference(client, admin_client, tmp_path):
    """An uploaded reference, then revoked by staff in the admin."""
    relative_path = upload_reference(client, tmp_path)
    revoked = admin_client.post("/admin/assets/referenceaudio/", {"action": "revoke_consent", "_selected_action": [ReferenceAudio.objects.get().pk]})
    assert revoked.status_code == 302 and ReferenceAudio.objects.get().revoked
    return relative_path


def test_chat_refuses_to_clone_a_revoked_reference_like_audio_clone(client, model, renderer, llm_server, revoked_reference, media_root):
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "api_choice": "fake", "text": "Hello",
            "voice_clone": "true", "ref_audio": revoked_reference}
    response = client.post("/chat_system", form)
    body = response.json()
    assert response.status_code == 400 and body["status"] == "error" and REVOKED in body["message"], body
    assert REVOKED in client.post("/audio_clone", {"original_audio_path": revoked_reference}).json()["message"]
    assert not Turn.objects.exists() and not SpeakerProfile.objects.exists()
    assert list((media_root / "voices/speakers").iterdir()) == []


def test_chat_refuses_to_clone_a_silent_reference_before_the_turn(client, model, tmp_path, media_root):
    silence = tmp_path / "silence.wav"
    media.write_wav(silence, np.zeros(5 * 16000, np.float32), 16000)
    with open(silence, "rb") as handle:
        reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "api_choice": "fake", "text": "Hello",
            "voice_clone": "true", "ref_audio": reference}
    response = client.post("/chat_system", form)
    assert response.status_code == 400 and response.json()["message"].startswith("ref_audio: 参考音频太安静"), response.content
    assert not Turn.objects.exists() and not SpeakerProfile.objects.exists()


def test_a_revoked_reference_is_refused_in_the_pages_language(client, revoked_reference):
    client.cookies["django_language"] = "en"
    body = client.post("/audio_clone", {"original_audio_path": revoked_reference}).json()
    assert body["message"] == f"original_audio_path: {REVOKED}"
    assert body["localized_message"] == "original_audio_path: the reference audio's consent was revoked: it can no longer be used"


def test_a_turn_accepted_before_the_revocation_extracts_no_voice(model, renderer, llm_server, revoked_reference, media_root):
    turn = run_accepted_turn(ReferenceAudio.objects.get().owner, model, ref_audio_path=revoked_reference.removeprefix("media/"))
    assert (turn.status, turn.error_stage) == (Turn.Status.FAILED, Turn.Stage.INPUT) and REVOKED in turn.error
    assert not SpeakerProfile.objects.exists() and list((media_root / "voices/speakers").iterdir()) == []


def test_a_turn_cloning_a_reference_with_no_speech_in_it_fails_on_its_input(client, model, renderer, llm_server, tmp_path, media_root):
    """It failed at the speech stage, 500, as a fault of the voice engine's."""
    noise = tmp_path / "noise.wav"
    media.write_wav(noise, (np.random.default_rng(0).standard_normal(5 * 16000) * 0.1).astype(np.float32), 16000)
    with open(noise, "rb") as handle:
        reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    turn = run_accepted_turn(ReferenceAudio.objects.get().owner, model, ref_audio_path=reference.removeprefix("media/"))
    assert (turn.status, turn.error_stage) == (Turn.Status.FAILED, Turn.Stage.INPUT) and "没有找到浊音讲话" in turn.error
    assert turn.job.failed_on_input and not SpeakerProfile.objects.exists()

@pytest.fixture
def cloned_voice(client, tmp_path, voice_fit_reused):
    """A voice cloned through /audio_clone from a consented upload."""
    assert client.post("/audio_clone", {"original_audio_path": upload_reference(client, tmp_path), "target_audio_id": "anna"}).status_code == 200
    return SpeakerProfile.objects.get(speaker_id="anna")


def test_an_answer_in_a_cloned_voice_names_the_voice_and_its_reference_in_provenance(client, model, renderer, llm_server, cloned_voice):
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "api_choice": "fake", "text": "Hello",
            "voice_clone": "true", "speaker_id": "anna"}
    assert client.post("/chat_system", form).status_code == 200
    turn = Turn.objects.get()
    records = ProvenanceRecord.objects.filter(job=turn.job)
    # every sentence's video, the joined answer's audio and its video
    assert records.count() == len(turn.segments) + 2 and len(turn.segments) >= 2
    reference = {"type": "reference_audio", "id": cloned_voice.reference_id}
    for record in records:
        assert record.speaker == cloned_voice and record.record["voice_id"] == str(cloned_voice), record.kind
        assert any({key: source[key] for key in ("type", "id")} == reference for source in record.sources), record.sources


def test_a_voice_gone_after_the_request_was_accepted_fails_the_turn_instead_of_speaking_in_another(model, renderer, llm_server, cloned_voice):
    # deleting the reference takes its profile with it
    turn = run_accepted_turn(cloned_voice.owner, model, before_it_runs=cloned_voice.reference.delete, speaker_id="anna")
    assert (turn.status, turn.error_stage) == (Turn.Status.FAILED, Turn.Stage.INPUT) and "anna" in turn.error
    assert not turn.segments and renderer.calls == []


@pytest.mark.parametrize("unspeakable", [
    "... !!!",  # punctuation only
    "こんにちは、ようこそ。 Привет мир.",  # scripts espeak-ng's English would spell out ("Japanese letter"); the forms refuse them
])
def test_a_reply_sentence_no_voice_can_say_is_skipped_not_a_failed_turn(client, model, renderer, settings, unspeakable):
    with FakeOpenAIServer(reply=f"Welcome to the studio. {unspeakable} See you soon.") as server:
        settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"fake": {"base_url": server.base_url, "api_key": "k", "model": "guide"}}}
        body = client.post("/chat_system", {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}",
                                            "api_choice": "fake", "text": "Hello"}).json()
    assert body["status"] == "success", body
    assert [segment["text"] for segment in Turn.objects.get().segments] == ["Welcome to the studio.", "See you soon."]
