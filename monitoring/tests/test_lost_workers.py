"""What a job whose worker vanished mid-run says once recovered, told apart from what is recorded:
its last heartbeat, when this server started, when the machine booted, and whose machine ran it."""
import socket
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import runner, shutdown
from monitoring.models import Job

pytestmark = pytest.mark.django_db


def dead_local_worker() -> str:
    finished = subprocess.Popen(["true"])
    finished.wait()
    return f"{socket.gethostname()}:{finished.pid}"


def running_job(worker: str, last_heartbeat) -> Job:
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, worker=worker, started_at=last_heartbeat - timedelta(minutes=5),
                                         heartbeat_at=last_heartbeat)
    return job


def recovered(job: Job) -> Job:
    assert runner.recover_stale_jobs() == [job.pk]
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    return job


def clock(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def server_started_an_hour_ago(monkeypatch):
    """A server started an hour ago on a machine up for a day: a CI machine booted minutes ago would
    otherwise make every earlier heartbeat read as lost to a reboot."""
    started = timezone.now() - timedelta(hours=1)
    monkeypatch.setattr(shutdown, "server_started_at", lambda: started)
    monkeypatch.setattr(runner.psutil, "boot_time", lambda: (started - timedelta(days=1)).timestamp())
    return started


def test_a_worker_that_died_while_its_server_ran_on_says_so(client, server_started_an_hour_ago, media_root):
    heard_of = timezone.now() - timedelta(seconds=3)
    job = recovered(running_job(dead_local_worker(), heard_of))
    assert job.error == ("the worker running this job stopped while the server ran on (killed, often for lack of memory, or crashed) "
                         f"after {clock(heard_of)}; its partial output was discarded, run it again")
    client.cookies["django_language"] = "zh-hans"
    assert client.get(f"/api/tasks/{job.pk}").json()["error"].startswith("运行此任务的进程在服务器运行期间停止")


def test_a_job_running_when_the_whole_server_was_killed_says_when_it_started_again(client, server_started_an_hour_ago, media_root):
    heard_of = server_started_an_hour_ago - timedelta(minutes=2)  # `serve` SIGKILLed: no stop, no server_stopping
    job = recovered(running_job(dead_local_worker(), heard_of))
    assert job.error == (f"the server stopped while this job ran (killed outright: its worker was last heard of at {clock(heard_of)}, "
                         f"the server started again at {clock(server_started_an_hour_ago)}); "
                         "its partial output was discarded, run it again")
    assert "killed or crashed" not in job.error


def test_a_job_running_when_the_machine_lost_power_says_the_machine_restarted(server_started_an_hour_ago, monkeypatch, media_root):
    heard_of = server_started_an_hour_ago - timedelta(minutes=10)
    booted = heard_of + timedelta(minutes=5)
    monkeypatch.setattr(runner.psutil, "boot_time", lambda: booted.timestamp())
    job = recovered(running_job(dead_local_worker(), heard_of))
    assert job.error == (f"the machine restarted while this job ran (power loss or reboot: booted at {clock(booted)}, "
                         f"the job's worker was last heard of at {clock(heard_of)}); its partial output was discarded, run it again")


def test_a_job_whose_remote_worker_went_quiet_says_since_when(settings, media_root):
    heard_of = timezone.now() - timedelta(seconds=settings.ECHOFU["STALE_AFTER_SECONDS"] + 5)
    job = recovered(running_job("gpu-box-7:4242", heard_of))
    assert job.error == (f"the worker running this job on another machine was last heard of at {clock(heard_of)} (stopped, "
                         "or its machine or network was lost); its partial output was discarded, run it again")
    assert "gpu-box-7" not in job.error, "users are not told the studio's host names"


def test_a_job_left_running_by_an_earlier_process_with_this_workers_pid_is_recovered(media_root):
    """A container restarted keeps its host name and hands out the same small pids: the worker that
    claimed the job may have had this very process's host:pid. It is still another process."""
    process_started = shutdown.server_started_at()
    job = running_job(runner.worker_identity(), process_started - timedelta(hours=1))
    assert recovered(job).error.startswith("the machine restarted while this job ran") or "the server stopped while this job ran" in job.error


def test_a_job_this_process_runs_now_is_left_running(media_root):
    job = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, worker=runner.worker_identity(), started_at=timezone.now(),
                                         heartbeat_at=timezone.now())
    assert runner.recover_stale_jobs() == []
    assert Job.objects.get(pk=job.pk).status == Job.Status.RUNNING


def test_a_lost_jobs_work_folder_left_aside_by_a_recovery_that_died_is_swept_by_the_next(media_root):
    """Recovery moves a lost job's folder aside before its failure commits and deletes it after: a
    recovering process killed in between leaves the folder of a job already failed, which no later
    recovery of that job would remove."""
    failed_earlier = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    Job.objects.filter(pk=failed_earlier.pk).update(status=Job.Status.FAILED, finished_at=timezone.now())
    left_aside = runner.job_workdir(failed_earlier.pk).with_name(f"{failed_earlier.pk}.discarded")
    (left_aside / "frames").mkdir(parents=True)
    (left_aside / "frames" / "0001.jpg").write_bytes(b"partial output")
    running = runner.new_job(Job.Kind.RENDER, {}, prefix="render")
    runner.job_workdir(running.pk).mkdir(parents=True, exist_ok=True)
    assert runner.recover_stale_jobs() == []
    assert not left_aside.exists() and runner.job_workdir(running.pk).is_dir()
