"""A worker whose job was recovered while it finished (its heartbeats lost, the job failed by another
worker) publishes none of its output: no row, no file, and the job reads as recovery left it. Real
threads on the file SQLite the test database is: the worker and the recovering test share it."""
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from assets.models import TrainingVideo
from generation.models import GeneratedVideo
from monitoring import runner
from monitoring.models import Job
from provenance.models import ProvenanceRecord
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cut_off(settings, monkeypatch):
    """Jobs claimed under a worker on another machine, stale half a second after their last heartbeat."""
    settings.ECHOFU = {**settings.ECHOFU, "STALE_AFTER_SECONDS": 0.5}
    monkeypatch.setattr(runner, "worker_identity", lambda: "cut-off-host:4242")


def run_recovered_at(start, monkeypatch, module, step: str) -> tuple[Job, Job]:
    """Run `start` (which runs one job) in a worker thread that stops just before calling `module.step`
    (its output built, its last progress reported) until the test has recovered the job as stale;
    (the job as recovery left it, the job once the worker ended)."""
    reached, recovered = threading.Event(), threading.Event()
    real_step = getattr(module, step)

    def after_recovery(*args, **kwargs):
        reached.set()
        recovered.wait(20)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(module, step, after_recovery)

    def worker():
        try:
            start()
        finally:
            connection.close()

    thread = threading.Thread(target=worker, name="worker-cut-off")
    thread.start()
    try:
        assert reached.wait(20)
        job = Job.objects.get()
        time.sleep(0.6)  # past STALE_AFTER_SECONDS without a heartbeat
        assert runner.recover_stale_jobs() == [job.pk]
        left = Job.objects.get(pk=job.pk)
        assert not runner.job_workdir(job.pk).exists()  # its partial output went as it failed
    finally:
        recovered.set()
        thread.join(20)
    assert not thread.is_alive()
    return left, Job.objects.get(pk=job.pk)


def assert_as_recovery_left_it(left: Job, after: Job) -> None:
    assert left.status == Job.Status.FAILED and "another machine" in left.error
    assert (after.status, after.error, after.result, after.finished_at) == (left.status, left.error, {}, left.finished_at)


@pytest.fixture
def quick_renders(monkeypatch):
    from chat.tests.conftest import QuickRenderer
    from generation import jobs

    monkeypatch.setattr(jobs, "get_engine", lambda model_type: QuickRenderer())
    return jobs


def test_a_superseded_render_keeps_no_video(cut_off, model, reference, quick_renders, media_root, monkeypatch, caplog):
    job = quick_renders.prepare_render(model, "cpu", audio_path=reference.file.name)
    left, after = run_recovered_at(lambda: runner.execute(job.pk), monkeypatch, quick_renders, "GeneratedVideo")  # its video labelled and stamped
    assert_as_recovery_left_it(left, after)
    assert not GeneratedVideo.objects.exists() and not ProvenanceRecord.objects.exists()
    assert list((media_root / "videos/res_videos").iterdir()) == []
    assert f"job {job.pk} is no longer running under this worker" in caplog.text


def test_a_render_still_held_by_its_worker_is_published(cut_off, model, reference, quick_renders, media_root):
    job = quick_renders.prepare_render(model, "cpu", audio_path=reference.file.name)
    worker = threading.Thread(target=lambda: (runner.execute(job.pk), connection.close()))
    worker.start()
    worker.join(60)
    job.refresh_from_db()
    video = GeneratedVideo.objects.get()
    assert job.status == Job.Status.SUCCEEDED and job.result["video_id"] == video.pk and video.job_id == job.pk
    assert ProvenanceRecord.objects.filter(job=job, file=video.file.name).exists()
    assert [path.name for path in (media_root / "videos/res_videos").iterdir()] == [video.original_name]


class QuickTraining:
    def train(self, video_path, workdir, params, progress):
        from engines.talking_head.base import TrainResult

        model_dir = workdir / "model"
        model_dir.mkdir()
        (model_dir / "weights.safetensors").write_bytes(b"w")
        return TrainResult(model_dir=model_dir, metrics={}, warnings=[])


def test_a_superseded_training_registers_no_model(cut_off, media_root, monkeypatch, caplog):
    from training import jobs, registry

    (media_root / "videos/ref_videos/anna.mp4").write_bytes(b"not read by the stand-in engine")
    video = TrainingVideo.objects.create(file="videos/ref_videos/anna.mp4", name="anna", size=31,
                                         probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
                                         consent_name="anna", consent_wording="test statement", consent_at=timezone.now())
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: QuickTraining())
    job = jobs.prepare_training("EchoLite", video, "cpu", 1, {})
    left, after = run_recovered_at(lambda: runner.execute(job.pk), monkeypatch, registry, "directory_stats")  # its folder moved into the registry
    assert_as_recovery_left_it(left, after)
    assert not TalkingHeadModel.objects.exists() and not list((media_root / "models").glob("*/*"))
    assert f"job {job.pk} is no longer running under this worker" in caplog.text


def test_recovery_leaves_a_job_whose_output_was_published_after_recovery_judged_it_stale(cut_off, monkeypatch):
    """Recovery reads the running jobs, judges this one stale, and before it records the failure the
    worker publishes its output (runner.holding_claim writes the heartbeat): the job stays its worker's."""
    job = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
    claimed = runner._claim(job.pk)
    time.sleep(0.6)  # past STALE_AFTER_SECONDS without a heartbeat
    judged = runner._lost_worker_reason

    def published_meanwhile(*args, **kwargs):
        with runner.holding_claim(claimed):
            pass
        return judged(*args, **kwargs)

    monkeypatch.setattr(runner, "_lost_worker_reason", published_meanwhile)
    work = runner.job_workdir(job.pk) / "frames/000001.png"
    work.parent.mkdir(parents=True)
    work.write_bytes(b"a frame its worker still needs")
    assert runner.recover_stale_jobs() == []
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    assert work.read_bytes() == b"a frame its worker still needs"  # the job is its worker's still, and so is its work


def test_a_superseded_chat_turn_keeps_no_answer(cut_off, client, media_root, monkeypatch, settings):
    from chat import pipeline
    from chat.models import Turn
    from chat.tests.conftest import QuickRenderer
    from engines.testing.fake_openai import FakeOpenAIServer

    (media_root / "models/EchoLite/guide").mkdir(parents=True)
    TalkingHeadModel.objects.create(model_type="EchoLite", name="guide")
    monkeypatch.setattr(pipeline, "get_engine", lambda model_type: QuickRenderer())
    answers = []

    def ask():
        try:
            answers.append(client.post("/chat_system", {"model_name": "EchoLite", "model_param": "models/EchoLite/guide",
                                                        "voice_clone": "false", "api_choice": "fake", "text": "Hello?"}))
        finally:
            connection.close()

    with FakeOpenAIServer(reply="Welcome to the studio.") as server:
        settings.ECHOFU = {**settings.ECHOFU, "LLM_PROVIDERS": {"fake": {"base_url": server.base_url, "api_key": "k", "model": "guide"}},
                           "LLM_TIMEOUT_SECONDS": 2.0, "LLM_RETRIES": 0}
        left, after = run_recovered_at(ask, monkeypatch, pipeline, "joined")  # its answer joined and stamped
    assert_as_recovery_left_it(left, after)
    turn = Turn.objects.get()
    assert turn.status == Turn.Status.FAILED and not turn.reply_video and not turn.reply_audio
    # it failed as its job did, at the stage it reached: not a cancel, nor a failure to hear the question
    assert (turn.error_stage, turn.error_message) == (Turn.Stage.RENDER, left.error_message)
    assert answers[0].status_code == 500 and answers[0].json()["status"] == "error"
    assert "另一台机器" in answers[0].json()["message"]  # recovery's reason, as the contract words it
    assert list((media_root / "videos/res_videos").iterdir()) == [] and list((media_root / "voices/res_voices").iterdir()) == []
    answer_files = ProvenanceRecord.objects.filter(file__startswith="videos/res_videos") | ProvenanceRecord.objects.filter(file__startswith="voices/res_voices")
    assert not answer_files.exists()  # no record of files that were never published
