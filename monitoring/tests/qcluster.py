"""Real `Q_CLUSTER_NAME=<queue> manage.py qcluster` subprocesses on the test database, for end-to-end job tests."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# Every process a test run starts inherits it: "<checkout>:<pid of the pytest that started the run>".
TEST_RUN_MARK = "ECHOFU_TEST_RUN"


def kill_leftovers_of_dead_runs(checkout: str) -> list[int]:
    """SIGKILLs the process groups of processes a test run of `checkout` started and outlived it; returns their pids.

    Worker tests start qcluster, gunicorn and other servers in their own process groups and stop them as
    they end; a run killed before that leaves them running, still writing to the test database, and the
    next run in the checkout then fails on it ("disk I/O error"). A live run's processes are left alone, and so
    are those of another user (the PostgreSQL server the scale-out test starts as its owner), which it cannot read."""
    killed = []
    for process in psutil.process_iter():
        try:
            run = process.environ().get(TEST_RUN_MARK, "")
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        owner, _, pid = run.rpartition(":")
        if owner != checkout or not pid.isdigit() or psutil.pid_exists(int(pid)):
            continue
        try:
            # A server the tests started leads its own group (start_new_session): its workers go with it. Any
            # other process, one that shared its run's group or ours, alone: each of its children is marked too.
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                os.kill(process.pid, signal.SIGKILL)
            killed.append(process.pid)
        except ProcessLookupError:
            pass
    return killed


def wait_until(predicate, timeout: float, poll: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def stop_gracefully(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM to the leader of a process group (a qcluster, gunicorn), SIGKILL to the whole group if
    it is still running after `timeout`. The leader stops its children in order: a qcluster's workers
    finish their task first. SIGTERM to the whole group instead kills django-q2's sentinel and workers
    outright (their SIGTERM is the default action) and leaves the main process waiting for them forever."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


class QCluster:
    """One queue's cluster; `env` adds settings (ECHOFU_GPUS, engine checkouts...) for its process."""

    def __init__(self, media_root: Path, log_path: Path, queue: str = "interactive", **env):
        self.media_root = media_root
        self.log_path = log_path
        self.queue = queue
        self.env = {key: str(value) for key, value in env.items()}
        self.process: subprocess.Popen | None = None

    def start(self) -> "QCluster":
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "echofu.settings",
            "DATABASE_URL": f"sqlite:///{connection.settings_dict['NAME']}",
            "ECHOFU_MEDIA_ROOT": str(self.media_root),
            "Q_CLUSTER_NAME": self.queue,
            "ECHOFU_Q_SYNC": "0",
            "ECHOFU_Q_POLL": "0.2",
            "ECHOFU_HEARTBEAT_SECONDS": "0.5",
            "ECHOFU_STALE_AFTER_SECONDS": "30",
            "ECHOFU_GPUS": str(len(settings.GPU_QUEUES)),
            "ECHOFU_CPU_JOB_SLOTS": str(settings.Q_CLUSTER["ALT_CLUSTERS"]["cpu"]["workers"]),
            **self.env,
        }
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the test can kill the sentinel and all workers
        )
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL the whole cluster: no cleanup code of ours gets to run."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            stop_gracefully(self.process, 30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def use_gpu_queues(settings, count: int) -> None:
    """Pretend this machine has `count` GPUs (queues gpu0..): trainings asked for them queue there."""
    settings.GPU_COUNT = count
    settings.GPU_QUEUES = [f"gpu{index}" for index in range(count)]
    settings.JOB_QUEUES = [settings.INTERACTIVE_QUEUE, settings.CPU_QUEUE, *settings.GPU_QUEUES]
