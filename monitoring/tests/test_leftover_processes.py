"""A killed test run's servers are killed by the next run of the same checkout, and nothing else is."""
import os
import subprocess
import sys

import psutil

from monitoring.tests.qcluster import ROOT, TEST_RUN_MARK, kill_leftovers_of_dead_runs, wait_until


def started(mark: str) -> subprocess.Popen:
    """A process in its own group, as the worker tests start qcluster and gunicorn, carrying `mark`."""
    env = {**os.environ, TEST_RUN_MARK: mark}
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True)


def test_only_a_dead_runs_processes_of_this_checkout_are_killed():
    finished = subprocess.Popen(["true"])
    finished.wait()  # a pytest that was killed: its pid names no process now
    assert not psutil.pid_exists(finished.pid)
    checkout = str(ROOT)
    orphan = started(f"{checkout}:{finished.pid}")
    live_run = started(f"{checkout}:{os.getpid()}")
    other_checkout = started(f"{checkout}-other:{finished.pid}")
    try:
        wait_until(lambda: all(TEST_RUN_MARK in psutil.Process(p.pid).environ() for p in (orphan, live_run, other_checkout)),
                   10, what="the processes to start")
        assert kill_leftovers_of_dead_runs(checkout) == [orphan.pid]
        assert orphan.wait(timeout=10) == -9
        assert live_run.poll() is None and other_checkout.poll() is None
    finally:
        for process in (orphan, live_run, other_checkout):
            process.kill()
            process.wait(timeout=10)
