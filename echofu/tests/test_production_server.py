"""`./run.sh serve` as a user starts it: gunicorn workers, whitenoise static files, one django-q2
cluster per queue, a real job served, and SIGTERM ending every process it started."""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from accounts.tests.multipart import encode
from engines.testing.simple_media import write_plain_video, write_tone_wav
from monitoring.tests.qcluster import wait_until
from monitoring.tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_SECONDS = 60
pytestmark = [pytest.mark.slow, pytest.mark.worker]


def get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except OSError:
        return None, None, b""


def post_file(url: str, field: str, path: Path) -> dict:
    body, content_type = encode({}, {field: (path.name, path.read_bytes())})
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def start_serve(tmp_path: Path, port: int) -> subprocess.Popen:
    """`./run.sh serve` on a private database and media folder, in its own session; waits until it answers."""
    env = {
        **os.environ,
        "ECHOFU_VENV": sys.prefix,
        "ECHOFU_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "ECHOFU_MEDIA_ROOT": str(tmp_path / "media"),
        "ECHOFU_STATIC_ROOT": str(tmp_path / "static"),
        "ECHOFU_WEB_WORKERS": "2",
        "ECHOFU_INTERACTIVE_WORKERS": "1",
        "ECHOFU_CPU_JOB_SLOTS": "1",
        "ECHOFU_GPUS": "0",
        "ECHOFU_Q_POLL": "0.2",
        "ECHOFU_STOP_GRACE_SECONDS": str(STOP_GRACE_SECONDS),
        "ECHOFU_SINGLE_USER_CONSENT": "Test Person",  # run.sh serve is single-user; uploads need the statement
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(["./run.sh", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: get(f"http://127.0.0.1:{port}/api/status")[0] == 200, 300, poll=1,
                   what="the server: " + (tmp_path / "serve.log").read_text(errors="replace")[-3000:])
    except BaseException:
        os.killpg(server.pid, signal.SIGKILL)
        raise
    return server


def still_running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]


def test_serve_runs_gunicorn_static_and_queues_and_stops_cleanly(tmp_path):
    port = free_port()
    server = start_serve(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        status, headers, body = get(f"{base}/assets/admin/css/base.css")
        assert status == 200 and b"body" in body, "whitenoise serves the admin's CSS without DEBUG"
        commands = [" ".join(child.cmdline()) for child in psutil.Process(server.pid).children(recursive=True)]
        assert sum("gunicorn" in line for line in commands) >= 3, commands  # master + 2 workers
        assert not any("runserver" in line for line in commands)
        # What gunicorn refuses before Django sees it still answers the contract's error JSON.
        for path, headers, status in ((f"/api/status?q={'x' * 5000}", {}, 400), ("/api/status", {"X-Long": "y" * 9000}, 431)):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=10)
            assert refused.value.code == status and refused.value.headers["Content-Type"] == "application/json"
            answer = json.loads(refused.value.read())
            assert answer["status"] == "error" and answer["message"].startswith("服务器在读取请求之前拒绝了它"), answer
        # gunicorn passes a chunked body on without a length, which Django would read as empty: sent in chunks
        # of 4 KB as `curl -T` sends a file, the upload is stored whole.
        voice = write_tone_wav(tmp_path / "chunked.wav", seconds=1.0).read_bytes()
        body, content_type = encode({}, {"audio": ("chunked.wav", voice)})
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[start:start + 4096]), body[start:start + 4096]) for start in range(0, len(body), 4096))
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"POST /api/upload-reference-audio HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                               b"Content-Type: " + content_type.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        head, _, answer_body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), answer
        stored = tmp_path / "media" / json.loads(answer_body)["relative_path"].removeprefix("media/")
        assert stored.read_bytes() == voice
        clusters = [child for child in psutil.Process(server.pid).children(recursive=True)
                    if "qcluster" in " ".join(child.cmdline()) and child.environ().get("Q_CLUSTER_NAME")]
        assert {child.environ()["Q_CLUSTER_NAME"] for child in clusters} == {"interactive", "cpu"}

        # A real job through the interactive queue's cluster.
        uploaded = post_file(f"{base}/api/upload-training-video", "video", write_plain_video(tmp_path / "clip.mp4", seconds=1.0))
        probe = uploaded["probe_task_id"]
        state = wait_until(lambda: (body := json.loads(get(f"{base}/api/tasks/{probe}")[2] or b"{}")).get("state") in ("succeeded", "failed") and body,
                           180, poll=0.5, what="the probe job")
        assert state["state"] == "succeeded", state
        started = [child.pid for child in psutil.Process(server.pid).children(recursive=True)]
    finally:
        stopping = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=STOP_GRACE_SECONDS + 30)
            stopped_after = time.monotonic() - stopping
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and still_running(started):
        time.sleep(0.2)
    assert not still_running(started), "every process serve started has ended"
    # Well inside the grace period: the clusters and gunicorn stopped their own workers, none was killed.
    assert stopped_after < STOP_GRACE_SECONDS / 2, f"serve stopped cleanly, not at the end of the grace period ({stopped_after:.0f} s)"
    assert get(f"{base}/api/status")[0] is None


def test_serve_killed_outright_takes_its_servers_and_clusters_with_it(tmp_path):
    """A supervisor whose stop timeout runs out (supervisord's and docker's default 10 s, shorter than
    ECHOFU_STOP_GRACE_SECONDS) kills serve itself with SIGKILL, which no trap sees. Its children, each in
    a session of its own, ran on without it: the clusters even started the jobs still queued, for hours
    in a training's case, and a new serve ran its own beside them."""
    port = free_port()
    server = start_serve(tmp_path, port)
    started = [child.pid for child in psutil.Process(server.pid).children(recursive=True)]
    try:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and still_running(started):
            time.sleep(0.2)
        assert not still_running(started), [" ".join(psutil.Process(pid).cmdline()) for pid in still_running(started)]
        assert get(f"http://127.0.0.1:{port}/api/status")[0] is None
    finally:
        for pid in still_running(started):
            os.kill(pid, signal.SIGKILL)


def test_a_request_waiting_for_its_job_gets_the_error_json_when_serve_stops(tmp_path):
    """/audio_clone waits for its job. Stopped while it waits, serve must still answer it with the contract's
    error JSON (503, the job's task_id), within the grace period: gunicorn used to close the connection
    after its own 10 s, and the job, not begun, stays queued for the next start."""
    port = free_port()
    server = start_serve(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    interactive = next(child for child in psutil.Process(server.pid).children(recursive=True)
                       if child.environ().get("Q_CLUSTER_NAME") == "interactive")
    answers = []
    try:
        reference = post_file(f"{base}/api/upload-reference-audio", "audio", write_tone_wav(tmp_path / "voice.wav", seconds=5.0))
        os.killpg(interactive.pid, signal.SIGSTOP)  # the job waits in its queue, and the request for it
        body, content_type = encode({"original_audio_path": reference["relative_path"], "target_audio_id": "anna"}, {})
        request = urllib.request.Request(f"{base}/audio_clone", data=body, headers={"Content-Type": content_type})
        waiting = threading.Thread(target=lambda: answers.append(answer_of(request)))
        waiting.start()
        wait_until(lambda: task_rows(tmp_path) or answers, 30, what="the request to queue its job")
        assert not answers, answers
        stopping = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        os.killpg(interactive.pid, signal.SIGCONT)
        waiting.join(timeout=STOP_GRACE_SECONDS + 30)
        answered_after = time.monotonic() - stopping
        server.wait(timeout=STOP_GRACE_SECONDS + 30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    status, answer = answers[0]
    assert status == 503 and answer["status"] == "error" and answer["message"], answer
    assert answered_after < STOP_GRACE_SECONDS, f"answered {answered_after:.0f} s after the stop"
    assert task_rows(tmp_path) == [(answer["task_id"], "queued")], "the job that had not begun waits for the next start"


def answer_of(request: urllib.request.Request) -> tuple[int | None, dict | None]:
    try:
        with urllib.request.urlopen(request, timeout=STOP_GRACE_SECONDS + 30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refusal:
        return refusal.code, json.loads(refusal.read())
    except OSError as failure:  # the connection closed without an answer
        return None, {"failure": repr(failure)}


def task_rows(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "serve.sqlite3", timeout=30) as database:
        return database.execute("SELECT id, status FROM monitoring_job WHERE kind = 'clone'").fetchall()
