"""Settings that reach the studio's processes before their engines load."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wait_policy_of_a_studio_process(**env: str) -> str:
    base = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    script = "import os, echofu.settings; print(os.environ['OMP_WAIT_POLICY'])"
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                          check=True, timeout=120).stdout.strip()


@pytest.mark.parametrize("asked, expected", [({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "ACTIVE"}, "ACTIVE")])
def test_openmp_threads_sleep_while_they_wait_unless_told_otherwise(asked, expected):
    # Jobs side by side share the cores only if torch's threads do not spin (bench/bench_cpu_sharing.py).
    assert wait_policy_of_a_studio_process(**asked) == expected
