"""How a job ends when something outside its handler stops it, and when the database falters while it runs."""
import threading
import time

import pytest
from django.db import OperationalError
from django_q.exceptions import TimeoutException

from monitoring import runner
from monitoring.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_mode(settings):
    """execute() as a django-q2 worker runs it: with a heartbeat, not inline."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    settings.ECHOFU = {**settings.ECHOFU, "HEARTBEAT_SECONDS": 0.1, "STALE_AFTER_SECONDS": 0.5}


def test_a_queue_time_limit_ends_the_job_as_timed_out(worker_mode, monkeypatch, media_root):
    def slow(job, ctx):
        (ctx.workdir / "partial.bin").write_bytes(b"x")
        raise TimeoutException("Task exceeded maximum timeout value (3600 seconds)")

    monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, slow)
    job = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
    with pytest.raises(TimeoutException):  # django-q2 still sees its own exception
        runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.eta_seconds == 0
    assert job.error.startswith("timed out") and "ECHOFU_INTERACTIVE_TIMEOUT" in job.error
    assert not runner.job_workdir(job.pk).exists()


def test_a_database_error_does_not_stop_the_heartbeat_or_fail_a_live_job(worker_mode, monkeypatch, media_root):
    real_now, failures = runner.timezone.now, []

    def locked_once(*args, **kwargs):
        if threading.current_thread().name.startswith("heartbeat") and not failures:
            failures.append(1)
            raise OperationalError("database is locked")
        return real_now(*args, **kwargs)

    monkeypatch.setattr(runner.timezone, "now", locked_once)
    release, seen = threading.Event(), {}

    def handler(job, ctx):
        (ctx.workdir / "partial.bin").write_bytes(b"x")
        release.wait(20)
        seen["workdir kept"] = (ctx.workdir / "partial.bin").exists()
        return {"ok": True}

    monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, handler)
    job = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
    worker = threading.Thread(target=runner.execute, args=(job.pk,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # past STALE_AFTER_SECONDS
        assert failures and any(t.name.startswith("heartbeat") for t in threading.enumerate())
        # Another worker's recovery pass, on the same machine: this process is alive, so the job runs on.
        monkeypatch.setattr(runner, "worker_identity", lambda: "other-worker:1")
        assert runner.recover_stale_jobs() == []
        assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING
    finally:
        release.set()
        worker.join(20)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.error == "" and seen == {"workdir kept": True}


def test_a_job_deleted_while_it_runs_stops_at_its_next_progress_report(monkeypatch, media_root):
    reports = []

    def long_work(job, ctx):
        for step in range(1, 6):
            reports.append(step)
            ctx.progress("work", step / 5, f"step {step}")  # a message: written at once, never throttled
            if step == 2:
                Job.objects.filter(pk=job.pk).delete()  # in the admin
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, long_work)
    job = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
    assert runner.execute(job.pk) == Job.Status.CANCELLED
    assert reports == [1, 2, 3] and not Job.objects.filter(pk=job.pk).exists()
    assert not runner.job_workdir(job.pk).exists()


def test_a_cancel_that_arrives_as_the_job_finishes_answers_409_and_keeps_the_result(client, monkeypatch, media_root):
    """The worker finishes the job between the cancel request's look at it (running) and the cancel
    itself: the answer says it had already ended, as for any finished job, not that a cancel was asked."""
    from monitoring import views

    release = threading.Event()

    def finishing(job, ctx):
        release.wait(20)
        return {"made": "video.mp4"}

    monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, finishing)
    job = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
    worker = threading.Thread(target=runner.execute, args=(job.pk,))
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while Job.objects.get(pk=job.pk).status != Job.Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.02)
        real_cancel = runner.request_cancel

        def cancel_once_finished(found):
            release.set()
            worker.join(20)
            return real_cancel(found)

        monkeypatch.setattr(views.runner, "request_cancel", cancel_once_finished)
        response = client.post(f"/api/tasks/{job.pk}/cancel")
    finally:
        release.set()
        worker.join(20)
    assert response.status_code == 409, response.content
    assert response.json() == {"status": "error", "message": "任务已结束 (succeeded)", "localized_message": "任务已结束 (succeeded)",
                               "state": "succeeded", "task_id": job.pk}
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.result == {"made": "video.mp4"}


@pytest.fixture
def cut_off_worker(worker_mode, monkeypatch, media_root):
    """A worker on another machine whose database connection is down (every heartbeat fails) while its
    job runs on; the test, a second worker, recovers the job as stale. Both share the test database's file."""
    from django.conf import settings

    assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
    real_now = runner.timezone.now

    def outage(*args, **kwargs):
        if threading.current_thread().name.startswith("heartbeat"):
            raise OperationalError("unable to open database file")
        return real_now(*args, **kwargs)

    monkeypatch.setattr(runner.timezone, "now", outage)
    monkeypatch.setattr(runner, "worker_identity", lambda: "cut-off-host:4242")
    recovered, progress_after_recovery = threading.Event(), []

    def run(late_work):
        def handler(job, ctx):
            ctx.progress("work", 0.5, "half way")
            recovered.wait(20)
            return late_work(ctx)

        monkeypatch.setitem(runner._handlers, Job.Kind.PROBE, handler)
        job = runner.new_job(Job.Kind.PROBE, {}, prefix="probe")
        worker = threading.Thread(target=runner.execute, args=(job.pk,), name="worker-cut-off")
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while Job.objects.get(pk=job.pk).stage != "work" and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # past STALE_AFTER_SECONDS without a heartbeat
            assert runner.recover_stale_jobs() == [job.pk]
            kept = Job.objects.get(pk=job.pk)
        finally:
            recovered.set()
            worker.join(20)
        assert not worker.is_alive()
        return kept, Job.objects.get(pk=job.pk)

    return run


def test_a_recovered_jobs_late_final_update_from_its_old_worker_is_not_recorded(cut_off_worker):
    recovered, after = cut_off_worker(lambda ctx: {"made": "video.mp4"})
    assert recovered.status == Job.Status.FAILED and "another machine" in recovered.error
    assert (after.status, after.error, after.result, after.finished_at) == (recovered.status, recovered.error, {}, recovered.finished_at)


def test_an_old_worker_reporting_progress_after_its_job_was_recovered_stops_and_changes_nothing(cut_off_worker):
    def still_working(ctx):
        ctx.progress("encode", 0.9, "nearly there")
        raise AssertionError("a superseded worker carried on")

    recovered, after = cut_off_worker(still_working)
    assert after.status == Job.Status.FAILED
    assert (after.stage, after.progress, after.error, after.log) == (recovered.stage, recovered.progress, recovered.error, recovered.log)
