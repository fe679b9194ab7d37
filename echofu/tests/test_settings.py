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


@pytest.mark.parametrize("variable, value", [("ECHOFU_VIDEO_LABEL", "ture"), ("ECHOFU_MAX_AUDIO_MB", "abc"), ("ECHOFU_DB_BUSY_TIMEOUT", "soon")])
def test_a_value_that_cannot_be_read_stops_the_process_naming_its_variable(variable, value):
    # A typo must not turn the AI label off unseen, nor end in a traceback that names no variable.
    base = {key: item for key, item in os.environ.items() if not key.startswith("ECHOFU_")}
    done = subprocess.run([sys.executable, "-c", "import echofu.settings"], cwd=ROOT, env={**base, variable: value},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and f"{variable}={value!r} is not" in done.stderr


@pytest.mark.parametrize("value, expected", [("true", True), ("ON", True), ("1", True), ("no", False), ("Off", False), ("0", False), ("", True)])
def test_switches_read_every_usual_spelling(monkeypatch, value, expected):
    from echofu.env import env_bool

    monkeypatch.setenv("ECHOFU_TEST_SWITCH", value)
    assert env_bool("ECHOFU_TEST_SWITCH", True) is expected


@pytest.mark.parametrize("env, variable, value", [
    ({"ECHOFU_LLM_DEFAULT": "deepseek"}, "ECHOFU_LLM_DEFAULT", "deepseek"),  # named, but not among ECHOFU_LLM_PROVIDERS
    ({"ECHOFU_LLM_PROVIDERS": "glm", "ECHOFU_LLM_DEFAULT": "qwen"}, "ECHOFU_LLM_DEFAULT", "qwen"),
    ({"ECHOFU_LLM_LOCAL_MODEL": "qwen2.5"}, "ECHOFU_LLM_LOCAL_MODEL", "qwen2.5"),
])
def test_a_chat_model_that_is_not_configured_stops_the_process_naming_its_variable(env, variable, value):
    # Otherwise every chat turn without an api_choice failed at its llm stage with only "'deepseek'" to go by.
    base = {key: item for key, item in os.environ.items() if not key.startswith("ECHOFU_")}
    done = subprocess.run([sys.executable, "-c", "import echofu.settings"], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and f"{variable}={value!r} is not one of" in done.stderr


def test_the_default_chat_provider_may_be_one_of_the_configured_ones():
    base = {key: item for key, item in os.environ.items() if not key.startswith("ECHOFU_")}
    script = "from django.conf import settings; import django; django.setup(); print(settings.ECHOFU['LLM_DEFAULT'])"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": "echofu.settings", "ECHOFU_LLM_PROVIDERS": "GLM,deepseek",
                               "ECHOFU_LLM_DEFAULT": "glm"})
    assert done.returncode == 0 and done.stdout.strip() == "glm", done.stderr
