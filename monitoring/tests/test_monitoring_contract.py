"""/api/status, /api/history, /api/tasks, /video: the documented shapes and codes."""
import threading
import time
from datetime import timedelta

import pytest

from monitoring import runner
from monitoring.models import Job
from monitoring.system import system_status

pytestmark = pytest.mark.django_db


def test_status_has_documented_keys_without_gpu(client):
    response = client.get("/api/status")
    assert response.status_code == 200
    body = response.json()
    for key, kind in [("cpu_percent", float), ("memory_percent", float), ("memory_used", int),
                      ("memory_total", int), ("disk_percent", float), ("gpus", list), ("timestamp", str)]:
        assert isinstance(body[key], kind), key
    assert body["memory_total"] > body["memory_used"] > 0
    for gpu in body["gpus"]:  # empty here (no NVIDIA driver); keys when present
        assert set(gpu) >= {"name", "load", "memory_used", "memory_total", "temperature"}


def test_cpu_use_is_measured_whichever_server_thread_asks():
    # Each of gunicorn's threads answered its first /api/status with 0.0 % CPU however busy the machine was.
    system_status()  # an earlier reading in this process, from another thread
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        pass  # one core busy
    readings = []
    thread = threading.Thread(target=lambda: readings.append(system_status()["cpu_percent"]))
    thread.start()
    thread.join()
    assert readings[0] > 10


def test_history_empty_type_is_empty_list(client):
    response = client.get("/api/history/video_generation")
    assert response.status_code == 200 and response.json() == []
    assert client.get("/api/history/nothing_ever_done").json() == []


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc", "a.b", "x%20y", "%E4%B8%AD"])
def test_history_type_must_be_a_plain_name(client, bad):
    client.cookies["django_language"] = "en"
    response = client.get(f"/api/history/{bad}")
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "历史类型必须是简单名称 (字母, 数字, _ 和 -)",
                               "localized_message": "history type must be a plain name (letters, digits, _ and -)"}


def test_history_lists_jobs_newest_first(client):
    first = runner.new_job(Job.Kind.TRAIN, {"n": 1}, prefix="train")
    second = runner.new_job(Job.Kind.TRAIN, {"n": 2}, prefix="train")
    entries = client.get("/api/history/model_training").json()
    assert [entry["task_id"] for entry in entries] == [second.pk, first.pk]
    assert entries[0]["status"] == "queued" and entries[0]["params"] == {"n": 2}


def test_job_ids_are_unique_within_one_second():
    ids = {runner.new_job(Job.Kind.TRAIN, {}, prefix="train").pk for _ in range(5)}
    assert len(ids) == 5
    assert all(job_id.startswith("train_") for job_id in ids)
    base = min(ids, key=len)
    assert len(base) == len("train_YYYYMMDD_HHMMSS")


def test_task_status_cancel_and_404(client):
    job = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    body = client.get(f"/api/tasks/{job.pk}").json()
    assert body["status"] == "success"
    assert body["state"] == "queued" and body["queue_position"] == 1 and body["progress"] == 0
    train = client.get(f"/api/train-status/{job.pk}").json()
    assert train["state"] == "queued" and train["model_path"] == ""
    cancelled = client.post(f"/api/tasks/{job.pk}/cancel").json()
    assert cancelled["status"] == "success" and cancelled["state"] == "cancelled"
    again = client.post(f"/api/tasks/{job.pk}/cancel")
    assert again.status_code == 409 and again.json()["status"] == "error"
    missing = client.get("/api/tasks/train_19990101_000000")
    assert missing.status_code == 404 and missing.json()["status"] == "error"
    assert client.get("/api/train-status/nope").status_code == 404


def test_a_task_deleted_while_its_cancel_is_asked_answers_410(client, monkeypatch):
    """Deleted in the admin between the lookup and the cancel: answered as the waiting endpoints answer it."""
    from monitoring import views

    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    found = views._job_or_404

    def found_then_deleted(request, task_id):
        found_job = found(request, task_id)
        Job.objects.filter(pk=task_id).delete()
        return found_job

    monkeypatch.setattr(views, "_job_or_404", found_then_deleted)
    client.cookies["django_language"] = "en"
    response = client.post(f"/api/tasks/{job.pk}/cancel")
    assert response.status_code == 410 and response.json() == {"status": "error", "message": "任务已被删除",
                                                                "localized_message": "the job was deleted", "task_id": job.pk}


@pytest.mark.parametrize("ending, state", [("succeed", "succeeded"), ("fail", "failed"), ("cancel", "cancelled")])
def test_a_finished_job_has_no_time_left(client, monkeypatch, ending, state):
    def halfway(job, ctx):
        time.sleep(0.1)
        ctx.progress("work", 0.2)  # a fifth along: four times the time spent so far left
        assert client.get(f"/api/tasks/{job.pk}").json()["eta_seconds"] > 0.2
        if ending == "fail":
            raise RuntimeError("broken")
        if ending == "cancel":
            assert client.post(f"/api/tasks/{job.pk}/cancel").json()["state"] == "running"
            ctx.progress("work", 0.3, "next step")  # a running job stops at its next report written
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, halfway)
    job = runner.submit(runner.new_job(Job.Kind.PROBE, {}))
    body = client.get(f"/api/tasks/{job.pk}").json()
    assert body["state"] == state and body["eta_seconds"] == 0


def test_time_left_grows_while_a_stage_reports_nothing(client, monkeypatch):
    # A probe reports 10 % at once, then checks faces for a while without a report: the time left
    # must not stay at what that first report implied (a fraction of a second).
    seen = []

    def quiet_stage(job, ctx):
        ctx.progress("check", 0.1)
        time.sleep(0.5)
        seen.append(client.get(f"/api/tasks/{job.pk}").json()["eta_seconds"])
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, quiet_stage)
    runner.submit(runner.new_job(Job.Kind.PROBE, {}))
    assert seen[0] >= 4  # 0.5 s or more for the first 10 %: 9 times that for the other 90 %


def test_a_queued_job_cancelled_drops_its_estimated_time(client):
    job = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    Job.objects.filter(pk=job.pk).update(eta_seconds=63.0)  # as a training is queued with its estimate
    assert client.get(f"/api/tasks/{job.pk}").json()["eta_seconds"] == 63.0
    assert client.post(f"/api/tasks/{job.pk}/cancel").json()["state"] == "cancelled"
    assert client.get(f"/api/tasks/{job.pk}").json()["eta_seconds"] == 0


def test_a_training_that_has_begun_keeps_its_estimate_until_its_progress_tells(client, monkeypatch):
    # Its first report (0 %, preparing frames for minutes) wrote no time left over the estimate it was
    # queued with, so the card and the queue behind it knew nothing until 1 %.
    seen = []

    def preparing(job, ctx):
        ctx.progress("prepare", 0.0)
        Job.objects.filter(pk=job.pk).update(started_at=job.started_at - timedelta(seconds=100))
        seen.append(client.get(f"/api/tasks/{job.pk}").json()["eta_seconds"])
        Job.objects.filter(pk=job.pk).update(started_at=job.started_at - timedelta(seconds=700))
        seen.append(client.get(f"/api/tasks/{job.pk}").json()["eta_seconds"])  # past its estimate: unknown, never 0
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.TRAIN, preparing)
    job = runner.new_job(Job.Kind.TRAIN, {"estimated_seconds": 600}, prefix="train")
    Job.objects.filter(pk=job.pk).update(eta_seconds=600)  # as training.jobs queues it
    runner.submit(job)
    assert seen[0] == pytest.approx(500, abs=2) and seen[1] is None


def test_queue_positions_follow_creation_order_per_queue():
    a = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    b = runner.new_job(Job.Kind.TRAIN, {}, prefix="train")
    probe = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
    assert (a.queue, b.queue, probe.queue) == ("cpu", "cpu", "interactive")
    assert (a.queue_position(), b.queue_position(), probe.queue_position()) == (1, 2, 1)
    runner.request_cancel(a)
    b.refresh_from_db()
    assert b.queue_position() == 1


def test_trainings_queue_per_device_and_everything_else_is_interactive(settings):
    settings.GPU_QUEUES, settings.JOB_QUEUES = ["gpu0", "gpu1"], ["interactive", "cpu", "gpu0", "gpu1"]
    assert runner.queue_for(Job.Kind.TRAIN, "cuda:1") == "gpu1"
    assert runner.queue_for(Job.Kind.TRAIN, "cuda:7") == "cpu"  # no such GPU here: no queue to wait in forever
    assert runner.queue_for(Job.Kind.TRAIN, "cpu") == "cpu"
    for kind in (Job.Kind.PROBE, Job.Kind.RENDER, Job.Kind.CLONE, Job.Kind.SYNTHESIZE, Job.Kind.CHAT):
        assert runner.queue_for(kind, "cuda:0") == "interactive"
    with pytest.raises(ValueError):
        runner.new_job(Job.Kind.TRAIN, {}, queue="gpu9")


def test_video_streams_with_range(client, media_root):
    video = media_root / "videos/res_videos/out.mp4"
    payload = bytes(range(256)) * 40
    video.write_bytes(payload)
    whole = client.get("/video/res_videos/out.mp4")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == payload
    part = client.get("/video/res_videos/out.mp4", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(payload)}"
    assert b"".join(part.streaming_content) == payload[100:200]
    tail = client.get("/media/videos/res_videos/out.mp4", HTTP_RANGE="bytes=-10")
    assert b"".join(tail.streaming_content) == payload[-10:]
    assert client.get("/video/res_videos/out.mp4", HTTP_RANGE=f"bytes={len(payload)}-").status_code == 416


@pytest.mark.parametrize("path", ["../../etc/passwd", "res_videos/../../../etc/passwd", "%2Fetc%2Fpasswd", "nothing.mp4", "tmp/uploads/x"])
def test_video_outside_media_or_missing_is_documented_404(client, path):
    client.cookies["django_language"] = "en"
    response = client.get(f"/video/{path}")
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "视频文件不存在", "localized_message": "the video file does not exist"}


def test_symlink_out_of_media_is_not_served(client, media_root, tmp_path):
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"secret")
    (media_root / "videos/res_videos/link.mp4").symlink_to(secret)
    assert client.get("/video/res_videos/link.mp4").status_code == 404
    assert client.get("/media/videos/res_videos/link.mp4").status_code == 404
