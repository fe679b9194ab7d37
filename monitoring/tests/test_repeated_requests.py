"""/video_generation and /audio_clone sent again moments later (a double click, a resent form) are
answered with the first request's job; another request, or the same recording's new bytes, is work of its own."""
import os
import time
from pathlib import Path

import pytest

from accounts.tests.conftest import alice, multi_user, session_client  # noqa: F401 (fixtures)
from echofu.tests.at_once import at_once
from engines.testing.simple_media import write_tone_wav
from limits.models import Hit
from monitoring import repeats, runner
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued_only(monkeypatch, settings):
    """Requests queue their job and answer 202 at once; two requests a slow test machine sends are still moments apart."""
    monkeypatch.setattr(runner, "submit", lambda job: job)
    monkeypatch.setattr(repeats, "REPEATED_REQUEST_SECONDS", 300.0)
    settings.ECHOFU = {**settings.ECHOFU, "SYNC_WAIT_SECONDS": 0.0}


def record(client, tmp_path, seconds: float) -> str:
    with open(write_tone_wav(tmp_path / "take.wav", seconds=seconds), "rb") as handle:
        saved = client.post("/save_audio", {"audio": handle})
    assert saved.status_code == 200, saved.content.decode()
    return saved.json()["path"]


def task_of(client, endpoint: str, form: dict) -> str:
    response = client.post(endpoint, form)
    assert response.status_code == 202 and response.json()["status"] == "processing", response.content.decode()
    return response.json()["task_id"]


def test_a_resent_render_is_the_first_ones_and_a_new_recording_renders_anew(client, model, queued_only, tmp_path):
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": "media/audios/input.wav"}
    record(client, tmp_path, seconds=1.0)
    first = task_of(client, "/video_generation", form)
    assert task_of(client, "/video_generation", form) == first and Job.objects.filter(kind=Job.Kind.RENDER).count() == 1
    record(client, tmp_path, seconds=2.0)  # the same path, a new recording
    assert task_of(client, "/video_generation", form) != first
    assert task_of(client, "/video_generation", {**form, "ref_audio": "", "target_text": "Hello."}) != first
    assert Job.objects.filter(kind=Job.Kind.RENDER).count() == 3


def test_a_resent_voice_request_is_the_first_ones(client, queued_only, tmp_path):
    with open(write_tone_wav(tmp_path / "voice.wav", seconds=4.0), "rb") as handle:
        reference = client.post("/api/upload-reference-audio", {"audio": handle}).json()["relative_path"]
    cloning = {"original_audio_path": reference, "target_audio_id": "spk1"}
    speaking = {"ref_audio_path": reference, "generate_text": "Hello there."}
    for form in (cloning, speaking):
        first = task_of(client, "/audio_clone", form)
        assert task_of(client, "/audio_clone", form) == first
    assert Job.objects.filter(kind__in=[Job.Kind.CLONE, Job.Kind.SYNTHESIZE]).count() == 2
    assert task_of(client, "/audio_clone", {**speaking, "generate_text": "Something else."}) != first


def test_a_repeated_render_does_not_use_up_the_rate_limit(alice, queued_only, model, settings, tmp_path):
    settings.ECHOFU = {**settings.ECHOFU, "RATE_LIMIT_REQUESTS": 2, "RATE_LIMIT_SECONDS": 60}
    as_alice = session_client(alice)
    TalkingHeadModel.objects.filter(pk=model.pk).update(owner=alice)
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": record(as_alice, tmp_path, seconds=1.0)}
    first = as_alice.post("/video_generation", form)
    assert first.status_code == 202, first.content.decode()
    assert as_alice.post("/video_generation", form).json()["task_id"] == first.json()["task_id"]
    assert Hit.objects.filter(user=alice, scope="rendering").count() == 1


def test_a_repeat_of_the_request_that_reached_the_rate_limit_is_answered_with_its_job(alice, queued_only, model, settings, tmp_path):
    """The double click on the last request the window allows: the second click is the same request and
    gets the first one's job, not 429 (a repeat does not count towards the limit); new work is still refused."""
    settings.ECHOFU = {**settings.ECHOFU, "RATE_LIMIT_REQUESTS": 1, "RATE_LIMIT_SECONDS": 60}
    as_alice = session_client(alice)
    TalkingHeadModel.objects.filter(pk=model.pk).update(owner=alice)
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "ref_audio": record(as_alice, tmp_path, seconds=1.0)}
    first = as_alice.post("/video_generation", form)
    assert first.status_code == 202, first.content.decode()
    again = as_alice.post("/video_generation", form)
    assert again.status_code == 202 and again.json()["task_id"] == first.json()["task_id"], again.content.decode()
    other = as_alice.post("/video_generation", {**form, "ref_audio": "", "target_text": "Hello."})
    assert other.status_code == 429 and Job.objects.filter(kind=Job.Kind.RENDER).count() == 1
    assert Hit.objects.filter(user=alice, scope="rendering").count() == 1


def test_a_chat_send_over_the_rate_limit_without_a_recording_leaves_no_failed_turn(alice, queued_only, model, settings):
    """Over the limit, a request is looked at only to find the job it repeats: one that would start
    something (here a turn failed for want of a recording) is refused with 429 and leaves nothing behind."""
    from chat.models import Turn

    settings.ECHOFU = {**settings.ECHOFU, "RATE_LIMIT_REQUESTS": 1, "RATE_LIMIT_SECONDS": 60}
    TalkingHeadModel.objects.filter(pk=model.pk).update(owner=alice)
    as_alice = session_client(alice)
    form = {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "voice_clone": "false"}
    assert as_alice.post("/chat_system", form).status_code == 400 and Turn.objects.count() == 1  # no recording: a failed turn
    Hit.objects.create(user=alice, scope="chat")
    assert as_alice.post("/chat_system", form).status_code == 429 and Turn.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_request_sent_twice_at_once_without_an_account_starts_one_job(queued_only):
    """Operator code (no account) sends one request twice at the same moment, each slow between looking
    for the other's job and creating its own: one job, and the second is answered with it. SQLite's
    writers take turns anyway; on PostgreSQL only start_once's lock keeps the second from missing the first."""
    def slow_probe() -> Job:
        time.sleep(0.5)  # the moment in which the other request looks for this one's job
        return runner.new_job(Job.Kind.PROBE, {}, prefix="probe")

    answers = at_once([lambda: repeats.start_once(Job.Kind.PROBE, None, "the same key", slow_probe)] * 2, timeout=30)
    assert all(isinstance(answer, tuple) for answer in answers), answers
    assert sorted(repeat for _, repeat in answers) == [False, True]
    assert answers[0][0].pk == answers[1][0].pk and Job.objects.count() == 1


def recorded_again_during(monkeypatch, module, name: str, recording: str, tmp_path) -> None:
    """A /save_audio that replaces `recording` (as save_recording does) while the request runs `module.name`,
    after its repeat key was made and before its job keeps the recording."""
    from echofu import paths

    real = getattr(module, name)

    def recorded_meanwhile(*args, **kwargs):
        os.replace(write_tone_wav(tmp_path / "another.wav", seconds=2.0), paths.absolute(recording))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded_meanwhile)


def test_a_render_keeps_the_recording_its_repeat_key_names(client, model, queued_only, monkeypatch, tmp_path, settings):
    """The job's key and its kept recording are one reading of the recording: a recording saved in between
    (another tab) would give the job another recording than the one a resend of the first is matched with."""
    from echofu import paths
    from generation.jobs import KEPT_RECORDING

    recording = record(client, tmp_path, seconds=1.0)[len(paths.PUBLIC_PREFIX):]
    asked = paths.absolute(recording).read_bytes()
    recorded_again_during(monkeypatch, runner, "new_job", recording, tmp_path)
    job = Job.objects.get(pk=task_of(client, "/video_generation", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1",
                                                                   "ref_audio": paths.public_path(recording)}))
    assert (runner.job_workdir(job.pk) / KEPT_RECORDING).read_bytes() == asked
    assert [path.name for path in paths.absolute(recording).parent.iterdir()] == ["input.wav"]  # no copy left beside it
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []  # nor among the uploads in progress


def test_a_chat_turn_keeps_the_recording_its_repeat_key_names(client, model, queued_only, monkeypatch, tmp_path, settings):
    from chat import pipeline
    from chat.models import Turn
    from echofu import paths

    recording = record(client, tmp_path, seconds=1.0)[len(paths.PUBLIC_PREFIX):]
    asked = paths.absolute(recording).read_bytes()
    recorded_again_during(monkeypatch, pipeline, "new_turn", recording, tmp_path)
    answer = client.post("/chat_system", {"model_name": "EchoLite", "model_param": "models/EchoLite/m1", "voice_clone": "false"})
    assert answer.status_code == 202, answer.content.decode()
    assert paths.absolute(Turn.objects.get().user_audio.name).read_bytes() == asked
    assert [path.name for path in paths.absolute(recording).parent.iterdir()] == ["input.wav"]
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []
