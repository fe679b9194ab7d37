"""A server told to stop (monitoring.shutdown): the jobs its cluster had not begun stay queued, the
ones it runs are marked as running through a stop, and requests waiting for them answer in time."""
import json
import time

import pytest
from django.http import JsonResponse
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from monitoring import runner, shutdown
from monitoring.models import Job
from monitoring.sync import answer_when_done
from monitoring.tests.qcluster import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker_settings(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def stop_forgotten():
    yield
    shutdown.forget()


@pytest.fixture
def stop_requested(stop_forgotten):
    shutdown.request_stop()


def tasks_on_the_broker(queue: str) -> list[str]:
    return [SignedPackage.loads(task.payload)["name"] for task in OrmQ.objects.filter(key=queue).order_by("id")]


def test_a_job_handed_out_after_the_stop_is_not_begun_and_goes_back_in_line(worker_settings, stop_requested, monkeypatch):
    begun = []
    monkeypatch.setitem(runner._handlers, Job.Kind.RENDER, lambda job, ctx: begun.append(job.pk) or {})
    earlier = runner.new_job(Job.Kind.RENDER, {}, prefix="earlier")
    handed_out = runner.new_job(Job.Kind.RENDER, {}, prefix="handed_out")

    runner.execute(handed_out.pk)

    assert begun == []
    assert set(Job.objects.values_list("status", flat=True)) == {Job.Status.QUEUED}
    assert tasks_on_the_broker(handed_out.queue) == [earlier.pk, handed_out.pk], "back on the broker, in the order they were asked for"


def test_a_job_running_when_the_stop_comes_is_marked_by_its_heartbeat(worker_settings, settings, stop_forgotten, monkeypatch):
    """Killed at the end of the grace period, the job then reads as stopped with the server, not crashed."""
    settings.ECHOFU = {**settings.ECHOFU, "HEARTBEAT_SECONDS": 0.05}

    def handler(job, ctx):
        shutdown.request_stop()
        wait_until(lambda: Job.objects.filter(pk=job.pk, server_stopping=True).exists(), 10, poll=0.05, what="the heartbeat to note the stop")
        return {}

    monkeypatch.setitem(runner._handlers, Job.Kind.RENDER, handler)
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    assert runner.execute(job.pk) == Job.Status.SUCCEEDED, "a job that finishes within the grace period succeeds"


def test_a_request_waiting_for_a_job_not_begun_answers_503_at_once_when_the_server_stops(stop_requested):
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")  # in line behind others: not begun
    waiting_since = time.monotonic()
    answer = answer_when_done(job, lambda done: JsonResponse({}), timeout=10)
    assert time.monotonic() - waiting_since < 2
    body = json.loads(answer.content)
    assert answer.status_code == 503 and body["status"] == "error" and body["task_id"] == job.pk, body
    assert body["message"].startswith("服务器正在停止"), "the contract's message is Chinese"
    assert Job.objects.get(pk=job.pk).status == Job.Status.QUEUED


def test_a_request_waiting_for_a_running_job_answers_503_before_the_grace_period_ends(settings, stop_requested):
    settings.ECHOFU = {**settings.ECHOFU, "STOP_GRACE_SECONDS": 4}
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    answer = answer_when_done(job, lambda done: JsonResponse({}), timeout=10)
    assert answer.status_code == 503 and json.loads(answer.content)["status_url"] == f"/api/tasks/{job.pk}"
    answered = time.monotonic()
    assert shutdown.answer_deadline(4) <= answered < shutdown.answer_deadline(4) + 1, "it waited for the job until the grace period was nearly over, no longer"
