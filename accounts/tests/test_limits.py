"""Per-user storage quotas (413) and rate limits on the heavy endpoints (429)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.conftest import error_message, session_client, token_client, upload_audio
from assets.models import ReferenceAudio
from limits.models import Hit

pytestmark = pytest.mark.django_db

HEAVY = {
    "/model_training": {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/none.mp4"},
    "/video_generation": {"model_name": "EchoLite", "model_param": "models/EchoLite/none"},
    "/audio_clone": {"generate_text": "hi", "audio_id": "nobody"},
    "/chat_system": {"model_name": "EchoLite", "model_param": "models/EchoLite/none"},
}


SCOPE = {"/model_training": "training", "/video_generation": "rendering", "/audio_clone": "synthesis", "/chat_system": "chat"}


@pytest.fixture
def queued_only(settings):
    """Jobs are handed to a cluster that is not running: an accepted request answers 202 at once."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.1, "RATE_LIMIT_REQUESTS": 3, "RATE_LIMIT_SECONDS": 60}


@pytest.fixture
def voice_wav(tmp_path):
    from engines.testing.simple_media import write_tone_wav

    return write_tone_wav(tmp_path / "voice.wav", seconds=4.0)  # long enough to clone from


def cloning(client, voice_wav) -> dict:
    """An /audio_clone request that is accepted: a speaker from the client's own consented upload."""
    uploaded = upload_audio(client, voice_wav).json()
    return {"original_audio_path": uploaded["relative_path"], "target_audio_id": "voice"}


def test_rate_limit_per_user_and_endpoint(alice, bob, staff, queued_only, voice_wav):
    as_alice, as_bob, as_staff = session_client(alice), token_client(bob), session_client(staff)
    accepted = cloning(as_alice, voice_wav)
    for index in range(3):  # three voices: the same form again this soon would be a double click, which counts once
        assert as_alice.post("/audio_clone", {**accepted, "target_audio_id": f"voice{index}"}).status_code == 202
    as_alice.cookies["django_language"] = "en"
    limited = as_alice.post("/audio_clone", {**accepted, "target_audio_id": "voice3"})
    assert error_message(limited, 429) == "请求过于频繁: 语音合成 每 60 秒最多 3 次"
    assert limited.json()["localized_message"] == "too many requests: speech synthesis takes at most 3 every 60 s"
    assert 1 <= int(limited["Retry-After"]) <= 61 and limited.json()["retry_after"] == int(limited["Retry-After"])
    assert as_bob.post("/audio_clone", cloning(as_bob, voice_wav)).status_code == 202  # Bob has his own budget
    assert as_alice.post("/video_generation", HEAVY["/video_generation"]).status_code == 400  # and each endpoint group its own
    staff_cloning = cloning(as_staff, voice_wav)
    for _ in range(5):
        assert as_staff.post("/audio_clone", staff_cloning).status_code == 202
    Hit.objects.update(at=Hit.objects.first().at.replace(year=2000))  # the window passed
    assert as_alice.post("/audio_clone", accepted).status_code == 202


@pytest.mark.parametrize("endpoint", sorted(HEAVY))
def test_only_accepted_requests_count_towards_the_rate_limit(alice, queued_only, endpoint):
    """A request refused as invalid (400) starts no work: a user fixing a form is not locked out."""
    as_alice = session_client(alice)
    for _ in range(5):
        assert as_alice.post(endpoint, HEAVY[endpoint]).status_code == 400
    assert not Hit.objects.exists()
    Hit.objects.bulk_create([Hit(user=alice, scope=SCOPE[endpoint]) for _ in range(3)])
    assert "请求过于频繁" in error_message(as_alice.post(endpoint, HEAVY[endpoint]), 429)


def test_single_user_mode_is_not_rate_limited(client, settings):
    settings.ECHOFU = {**settings.ECHOFU, "SINGLE_USER": True, "RATE_LIMIT_REQUESTS": 2, "RATE_LIMIT_SECONDS": 60}
    for _ in range(4):
        assert client.post("/audio_clone", HEAVY["/audio_clone"]).status_code == 400
    assert not Hit.objects.exists()


def test_storage_quota_refuses_uploads_and_heavy_work_with_413(alice, bob, settings, wav_file, tmp_path):
    from engines.testing.simple_media import write_tone_wav

    size = wav_file.stat().st_size
    settings.ECHOFU = {**settings.ECHOFU, "QUOTA_BYTES": int(size * 1.5)}
    as_alice, as_bob = session_client(alice), token_client(bob)
    assert upload_audio(as_alice, wav_file).status_code == 200
    as_alice.cookies["django_language"] = "en"
    refused = upload_audio(as_alice, write_tone_wav(tmp_path / "another.wav", seconds=1.5))
    assert error_message(refused, 413).startswith("存储空间不足: 已用 0.")
    assert refused.json()["localized_message"].startswith("storage quota exceeded: 0.")
    assert refused.json()["used_bytes"] == size and ReferenceAudio.objects.count() == 1
    assert upload_audio(as_bob, wav_file).status_code == 200  # quotas are per user
    settings.ECHOFU = {**settings.ECHOFU, "QUOTA_BYTES": size}
    assert "存储空间不足" in error_message(as_alice.post("/audio_clone", HEAVY["/audio_clone"]), 413)
    assert not Hit.objects.exists()  # refused before any work: not counted towards the rate limit


def test_chat_answers_count_towards_the_quota(alice, settings, plain_video, media_root):
    from chat.models import Conversation, Turn

    turn = Turn.objects.create(conversation=Conversation.objects.create(owner=alice), input_text="hi")
    for relative in (f"videos/res_videos/chat_{turn.pk}.mp4", f"{turn.folder}/segments/01.mp4", f"{turn.folder}/question.wav"):
        (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
        (media_root / relative).write_bytes(b"x" * 1000)
    turn.reply_video, turn.user_audio = f"videos/res_videos/chat_{turn.pk}.mp4", f"{turn.folder}/question.wav"
    turn.save()
    settings.ECHOFU = {**settings.ECHOFU, "QUOTA_BYTES": 2500}
    refused = session_client(alice).post("/audio_clone", HEAVY["/audio_clone"])
    assert "存储空间不足" in error_message(refused, 413) and refused.json()["used_bytes"] == 3000  # the recording counted once


def test_a_repeated_training_request_does_not_use_up_the_rate_limit(alice, queued_only, media_root, monkeypatch):
    """A double-clicked /model_training is answered with the first training's task_id and starts
    nothing: it must not count as a second request of the user's hourly budget."""
    from django.utils import timezone

    from assets.models import TrainingVideo
    from engines.testing.simple_media import write_plain_video
    from monitoring import repeats
    from monitoring.models import Job

    monkeypatch.setattr(repeats, "REPEATED_REQUEST_SECONDS", 300.0)  # a slow test machine's two requests are still moments apart

    write_plain_video(media_root / "videos/ref_videos/alice.mp4", seconds=1.0)
    TrainingVideo.objects.create(
        file="videos/ref_videos/alice.mp4", original_name="alice.mp4", size=1, owner=alice,
        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
        consent_name="Alice Example", consent_wording="test statement", consent_at=timezone.now(),
    )
    as_alice = session_client(alice)
    form = {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/alice.mp4", "gpu_choice": "CPU", "epoch": "1"}
    first, again = as_alice.post("/model_training", form), as_alice.post("/model_training", form)
    assert first.status_code == again.status_code == 200
    assert first.json()["task_id"] == again.json()["task_id"] and Job.objects.filter(kind=Job.Kind.TRAIN).count() == 1
    assert Hit.objects.filter(user=alice, scope="training").count() == 1
    for epochs in ("2", "3"):  # the rest of the budget (3) is still there for trainings of their own
        assert as_alice.post("/model_training", {**form, "epoch": epochs}).status_code == 200
    assert "请求过于频繁" in error_message(as_alice.post("/model_training", {**form, "epoch": "4"}), 429)


def test_verify_media_is_rate_limited_per_user(alice, bob, queued_only, wav_file):
    """/api/verify-media stores nothing, so the quota never bounded it: each file is read and decoded, an
    unreadable one too, so every request counts."""
    as_alice, as_bob = session_client(alice), token_client(bob)
    with open(wav_file, "rb") as handle:
        assert as_alice.post("/api/verify-media", {"file": handle}).status_code == 200
    assert as_alice.post("/api/verify-media", {"file": SimpleUploadedFile("notes.wav", b"not audio " * 50)}).status_code == 400
    with open(wav_file, "rb") as handle:
        assert as_alice.post("/api/verify-media", {"file": handle}).status_code == 200
    with open(wav_file, "rb") as handle:
        limited = as_alice.post("/api/verify-media", {"file": handle})
    assert "请求过于频繁" in error_message(limited, 429)
    assert 1 <= int(limited["Retry-After"]) <= 61
    assert Hit.objects.filter(user=alice, scope="verification").count() == 3
    with open(wav_file, "rb") as handle:
        assert as_bob.post("/api/verify-media", {"file": handle}).status_code == 200  # Bob has his own budget
