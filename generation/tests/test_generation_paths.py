"""/video_generation beyond EchoLite: a SyncTalk model through its (fake) checkout, speech from a
cloned voice or a browser recording, the 202 / 500 / 409 answers of a synchronous endpoint, and the
AI-generated mark in history."""
import shutil
import sys
import time

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engines import media
from engines.talking_head import TrainParams, create_engine
from engines.testing.face_video import make_talking_face_video
from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.simple_media import write_encoded_audio, write_tone_wav
from engines.testing.voices import other_speaker
from generation.models import GeneratedVideo
from monitoring import runner
from monitoring.models import Job
from monitoring.tests.waiting import end_while_waiting
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def synctalk_training(tmp_path_factory):
    """A SyncTalk model trained by the adapter on a fake checkout (once for the module)."""
    root = tmp_path_factory.mktemp("synctalk")
    checkout = make_fake_checkout(root / "SyncTalk", "SyncTalk")
    video = make_talking_face_video(root / "anna.mp4", seconds=3.2, size=256, seed=1)
    engine = create_engine("SyncTalk", checkout=checkout, python=sys.executable, require_cuda=False)
    return checkout, engine.train(video, root / "work", TrainParams(device="cuda:0", extra={"iters": "50"})).model_dir


@pytest.fixture
def synctalk_model(synctalk_training, settings, media_root):
    checkout, trained = synctalk_training
    settings.ECHOFU = {**settings.ECHOFU, "SYNCTALK_DIR": str(checkout), "SYNCTALK_PYTHON": sys.executable,
                       "EXTERNAL_REQUIRE_CUDA": False}
    shutil.copytree(trained, media_root / "models/SyncTalk/anna_v1")
    return TalkingHeadModel.objects.create(model_type="SyncTalk", name="anna_v1", person="anna")


def upload_audio(client, path) -> str:
    with open(path, "rb") as handle:
        body = client.post("/api/upload-reference-audio", {"audio": handle}).json()
    assert body["status"] == "success", body
    return body["relative_path"]


def render(client, model, audio: str):
    return client.post("/video_generation", {"model_name": model.model_type, "model_param": model.public_dir,
                                             "ref_audio": audio, "gpu_choice": "GPU0"})


def rendered_file(media_root, body):
    return media_root / body["video_path"].removeprefix("media/")


@pytest.mark.slow
def test_synctalk_renders_through_video_generation_and_history_marks_it_ai_generated(client, synctalk_model, media_root, tmp_path):
    audio = upload_audio(client, write_tone_wav(tmp_path / "speech.wav", seconds=2.0))
    response = render(client, synctalk_model, audio)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success" and body["message"] == "视频生成成功", body
    info = media.verify(rendered_file(media_root, body), "video")
    assert info.video_codec == "h264" and info.has_audio and (info.width, info.height) == (256, 256)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert media.container_comment(rendered_file(media_root, body)) == media.AI_GENERATED
    row = GeneratedVideo.objects.get()
    assert row.model == synctalk_model and row.frames == 50 and row.ai_generated
    assert Job.objects.get(pk=body["task_id"]).device == "cuda:0"

    entry = client.get("/api/history/video_generation").json()[0]
    assert entry["task_id"] == body["task_id"] and entry["model_name"] == "SyncTalk" and entry["ai_generated"] is True
    # The flag is the row's (a curator may clear it), not a constant of the listing.
    GeneratedVideo.objects.update(ai_generated=False)
    assert client.get("/api/history/video_generation").json()[0]["ai_generated"] is False


@pytest.mark.slow
def test_a_browser_recording_and_a_cloned_voice_drive_renders(client, synctalk_model, media_root, tmp_path, voice_unmeasured):
    recording = write_encoded_audio(tmp_path / "mic.webm", seconds=1.5)
    saved = client.post("/save_audio", {"audio": SimpleUploadedFile("recording.wav", recording.read_bytes())}).json()
    assert saved["status"] == "success", saved
    from_recording = render(client, synctalk_model, saved["path"]).json()
    assert from_recording["status"] == "success", from_recording
    assert media.probe(rendered_file(media_root, from_recording)).duration == pytest.approx(1.5, abs=0.1)

    speech = other_speaker("Please call Stella. Ask her to bring these things with her from the store.")
    reference = tmp_path / "voice.wav"
    media.write_wav(reference, np.concatenate([np.zeros(8000, np.float32), speech]), 16000)
    assert client.post("/audio_clone", {"original_audio_path": upload_audio(client, reference), "target_audio_id": "anna"}).json()["status"] == "success"
    cloned = client.post("/audio_clone", {"generate_text": "Hello, this is Anna.", "audio_id": "anna"}).json()
    assert cloned["status"] == "success", cloned
    from_clone = render(client, synctalk_model, cloned["cloned_audio_path"]).json()
    assert from_clone["status"] == "success", from_clone
    spoken = media.probe(media_root / cloned["cloned_audio_path"].removeprefix("media/")).duration
    assert media.probe(rendered_file(media_root, from_clone)).duration == pytest.approx(spoken, abs=0.1)
    assert GeneratedVideo.objects.filter(audio_path=cloned["cloned_audio_path"].removeprefix("media/")).count() == 1


@pytest.mark.slow
def test_a_render_that_fails_is_a_500_with_its_task_and_leaves_nothing(client, synctalk_model, media_root, tmp_path):
    (synctalk_model.directory() / "torso_imgs" / "3.png").unlink()
    audio = upload_audio(client, write_tone_wav(tmp_path / "speech.wav", seconds=1.0))
    response = render(client, synctalk_model, audio)
    body = response.json()
    assert response.status_code == 500 and body["status"] == "error", body
    assert "不完整 (缺少 torso_imgs/3.png)" in body["message"] and body["task_id"].startswith("render_")
    assert Job.objects.get(pk=body["task_id"]).status == "failed"
    assert GeneratedVideo.objects.count() == 0 and list((media_root / "videos/res_videos").iterdir()) == []


@pytest.fixture
def queued_only(settings):
    """Jobs are handed to a cluster that is not running: they stay queued."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.3}


@pytest.fixture
def echolite_model(media_root):
    (media_root / "models/EchoLite/m1").mkdir(parents=True)
    return TalkingHeadModel.objects.create(model_type="EchoLite", name="m1")


def test_a_job_outlasting_the_wait_answers_202_processing_with_its_task(client, echolite_model, queued_only, tmp_path):
    audio = upload_audio(client, write_tone_wav(tmp_path / "speech.wav", seconds=1.0))
    client.cookies["django_language"] = "en"
    response = render(client, echolite_model, audio)
    body = response.json()
    assert response.status_code == 202 and body["status"] == "processing" and body["task_id"].startswith("render_"), body
    assert (body["message"], body["localized_message"]) == ("任务仍在进行中, 请查询任务状态", "the job is still running: look up its state by its task_id")
    assert body["status_url"] == f"/api/tasks/{body['task_id']}"
    assert client.get(body["status_url"]).json()["state"] == "queued"

    voice = upload_audio(client, write_tone_wav(tmp_path / "voice.wav", seconds=6.0))
    cloning = client.post("/audio_clone", {"original_audio_path": voice, "target_audio_id": "anna"})
    assert cloning.status_code == 202 and cloning.json()["status"] == "processing", cloning.json()
    assert Job.objects.get(pk=cloning.json()["task_id"]).status == "queued"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end, code, message, english, left", [
    (runner.request_cancel, 409, "任务已取消", "the job was cancelled", ["cancelled"]),
    (Job.delete, 410, "任务已被删除", "the job was deleted", []),  # a curator deleted its row in the admin
], ids=["cancelled", "deleted"])
def test_a_job_ended_while_the_request_waits_answers_its_end(client, echolite_model, queued_only, settings, tmp_path, end, code, message,
                                                            english, left):
    client.cookies["django_language"] = "en"
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 30.0}
    audio = upload_audio(client, write_tone_wav(tmp_path / "speech.wav", seconds=1.0))
    watcher = end_while_waiting(Job.Kind.RENDER, end)
    started = time.monotonic()
    response = render(client, echolite_model, audio)
    watcher.join(10)
    body = response.json()
    assert response.status_code == code
    assert body == {"status": "error", "message": message, "localized_message": english, "task_id": body["task_id"]}
    assert list(Job.objects.filter(pk=body["task_id"]).values_list("status", flat=True)) == left
    assert time.monotonic() - started < 30


def save_recording(client, path) -> str:
    saved = client.post("/save_audio", {"audio": SimpleUploadedFile("recording.wav", path.read_bytes())}).json()
    assert saved["status"] == "success", saved
    return saved["path"]


@pytest.mark.slow
def test_a_queued_render_speaks_the_recording_it_was_asked_with(client, synctalk_model, queued_only, settings, media_root, tmp_path):
    recording = save_recording(client, write_tone_wav(tmp_path / "first.wav", seconds=1.5))
    queued = render(client, synctalk_model, recording).json()
    assert queued["status"] == "processing", queued
    save_recording(client, write_tone_wav(tmp_path / "second.wav", seconds=3.0))  # the next question, recorded meanwhile

    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    assert runner.execute(queued["task_id"]) == "succeeded"
    video = GeneratedVideo.objects.get(job_id=queued["task_id"])
    assert media.probe(media_root / video.file.name).duration == pytest.approx(1.5, abs=0.1)
    assert not runner.job_workdir(queued["task_id"]).exists()


def test_a_render_cancelled_while_queued_drops_the_recording_kept_for_it(client, echolite_model, queued_only, tmp_path):
    recording = save_recording(client, write_tone_wav(tmp_path / "mic.wav", seconds=1.0))
    queued = render(client, echolite_model, recording).json()
    kept = runner.job_workdir(queued["task_id"])
    assert kept.is_dir()
    runner.request_cancel(Job.objects.get(pk=queued["task_id"]))
    assert not kept.exists()
