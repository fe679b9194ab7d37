"""Chat clones a voice only from a reference whose consent stands, as /audio_clone does."""
import pytest
from django.contrib.auth.models import User
from django.test import Client

from assets.models import ReferenceAudio, SpeakerProfile
from chat.models import Conversation, Turn
from engines import media
from engines.testing.voices import other_speaker
from monitoring import runner
from monitoring.models import Job

pytestmark = pytest.mark.django_db

REVOKED = "参考音频的授权已被撤销, 不能再使用"


@pytest.fixture
def revoked_reference(client, tmp_path):
    """A recording long enough to clone a voice from, uploaded with consent, then revoked by staff in the admin."""
    path = tmp_path / "anna.wav"
    media.write_wav(path, other_speaker("Please call Stella. Ask her to bring these things with her from the store."), 16000)
    with open(path, "rb") as handle:
        uploaded = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    User.objects.create_superuser("curator", "curator@example.com", "pw")
    curator = Client()
    curator.login(username="curator", password="pw")
    revoked = curator.post("/admin/assets/referenceaudio/", {"action": "revoke_consent", "_selected_action": [ReferenceAudio.objects.get().pk]})
    assert revoked.status_code == 302 and ReferenceAudio.objects.get().revoked
    return uploaded["relative_path"]


def test_chat_refuses_to_clone_a_revoked_reference_like_audio_clone(client, model, renderer, llm_server, revoked_reference, media_root):
    form = {"model_name": "EchoLite", "model_param": f"models/EchoLite/{model.name}", "api_choice": "fake", "text": "Hello",
            "voice_clone": "true", "ref_audio": revoked_reference}
    response = client.post("/chat_system", form)
    body = response.json()
    assert response.status_code == 400 and body["status"] == "error" and REVOKED in body["message"], body
    assert REVOKED in client.post("/audio_clone", {"original_audio_path": revoked_reference}).json()["message"]
    assert not Turn.objects.exists() and not SpeakerProfile.objects.exists()
    assert list((media_root / "voices/speakers").iterdir()) == []


def test_a_turn_accepted_before_the_revocation_extracts_no_voice(model, renderer, llm_server, revoked_reference, media_root):
    owner = ReferenceAudio.objects.get().owner
    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=owner), input_text="Hello")
    params = {"turn_id": turn.pk, "model_id": model.pk, "api_choice": "fake", "voice_clone": True, "speaker_id": "",
              "ref_audio_path": revoked_reference.removeprefix("media/"), "pitch": 0.0}
    turn.job = runner.new_job(Job.Kind.CHAT, params, owner=owner, prefix="chat")
    turn.save(update_fields=["job"])
    runner.submit(turn.job)

    turn.refresh_from_db()
    assert (turn.status, turn.error_stage) == (Turn.Status.FAILED, Turn.Stage.INPUT) and REVOKED in turn.error
    assert not SpeakerProfile.objects.exists() and list((media_root / "voices/speakers").iterdir()) == []
