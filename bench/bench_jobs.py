"""Job system and production server benchmark, run against the real thing: gunicorn + the
django-q2 clusters of `./run.sh serve`, on a private SQLite database and media root.

Parts (all by default; pick with --parts):
  http       16 loopback clients (wrk) on the list, status and task-status endpoints:
             requests/s, p50/p99 latency
  uploads    server resident memory (gunicorn master + workers) during 10 concurrent 200 MB uploads
  contention seconds for a 5 s speech synthesis and a 10 s EchoLite render, idle and while two
             EchoLite trainings on the CPU queue train their networks (OMP_WAIT_POLICY=ACTIVE in the
             environment measures it with spinning threads)

Prints the figures and saves bench/results/jobs.json with the load average next to each figure
(this machine is shared). Run: .venv/bin/python bench/bench_jobs.py [--parts http,uploads]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"

import psutil  # noqa: E402

UPLOAD_BYTES = 200 * 1000 * 1000
CHUNK = 1024 * 1024
SYNTH_TEXT = "The weather will be dry and sunny for the rest of the week, with a light breeze."  # about 5 s
REPEAT_WINDOW_SECONDS = 10.0  # monitoring.repeats.REPEATED_REQUEST_SECONDS (this script runs the server, it does not import it)
# The contention part's two trainings, cancelled once measured: two forms (the same one twice is one
# training, a double click), each within /model_training's largest epoch (training.forms.MAX_EPOCHS).
BUSY_TRAINING_EPOCHS = ("99999", "100000")
WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


class Studio:
    """gunicorn + one qcluster per queue on a private database and media root."""

    def __init__(self, workdir: Path, web_workers: int, clusters: bool, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"},
            "DJANGO_SETTINGS_MODULE": "echofu.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "ECHOFU_MEDIA_ROOT": str(workdir / "media"),
            "ECHOFU_STATIC_ROOT": str(workdir / "static"),
            "ECHOFU_GPUS": "0",
            "ECHOFU_CPU_JOB_SLOTS": "2",
            "ECHOFU_Q_POLL": "0.2",
            "ECHOFU_MAX_VIDEO_MB": "210",
            # As ./run.sh serve runs by default: one local user who has stated consent for uploads.
            "ECHOFU_SINGLE_USER": "true", "ECHOFU_SINGLE_USER_CONSENT": "Bench Person",
            "ECHOFU_RATE_LIMIT_REQUESTS": "100000",
        }
        self.web_workers = web_workers
        self.clusters = clusters
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def spawn(self, command: list[str], name: str, **env) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def __enter__(self) -> "Studio":
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        if self.clusters:
            for queue in self.manage("job_queues").split():
                self.spawn([sys.executable, "manage.py", "qcluster"], f"qcluster-{queue}", Q_CLUSTER_NAME=queue)
        # As ./run.sh serve runs it: the same config file (workers, threads, access log).
        self.web = self.spawn([sys.executable, "-m", "gunicorn", "-c", "echofu/gunicorn_conf.py", "echofu.wsgi:application",
                               "--bind", f"127.0.0.1:{self.port}", "--timeout", "900"], "gunicorn",
                              ECHOFU_WEB_WORKERS=str(self.web_workers))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if request(f"{self.url}/api/status")[0] == 200:
                return self
            time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer: " + (self.workdir / "gunicorn.log").read_text()[-2000:])

    def __exit__(self, *exc) -> None:
        # The leaders only: they stop their own children in order (SIGTERM to a qcluster's whole
        # group kills its workers outright and leaves its main process waiting for them).
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def server_cpu_seconds(self) -> float:
        master = psutil.Process(self.web.pid)
        return sum(sum(process.cpu_times()[:2]) for process in [master, *master.children(recursive=True)])

    def server_memory(self) -> tuple[int, int]:
        """(RSS summed over gunicorn's processes, PSS summed): RSS counts pages the preloaded workers
        share with the master once per process; PSS splits them, so it adds up to what the server holds."""
        master = psutil.Process(self.web.pid)
        infos = [process.memory_full_info() for process in [master, *master.children(recursive=True)]]
        return sum(info.rss for info in infos), sum(info.pss for info in infos)


def request(url: str, fields: dict | None = None, files: dict | None = None, timeout: float = 900) -> tuple[int, dict]:
    data, headers = None, {}
    if fields is not None or files:
        boundary = "echofu-bench"
        parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n".encode()
                 for key, value in (fields or {}).items()]
        for key, path in (files or {}).items():
            parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{key}\"; filename=\"{Path(path).name}\"\r\n"
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + Path(path).read_bytes() + b"\r\n")
        data = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return 0, {}


# --- http: 16 clients on list/status/task-status ----------------------------------------------------


def seed_catalog(studio: Studio, videos: int = 20, jobs: int = 200) -> list[str]:
    """Rows the list endpoints return: training videos with files, finished jobs; a probe and a training id."""
    script = f"""
from pathlib import Path
from django.conf import settings
from assets.models import TrainingVideo
from monitoring import runner
from monitoring.models import Job
folder = Path(settings.MEDIA_ROOT) / "videos/ref_videos"
folder.mkdir(parents=True, exist_ok=True)
for index in range({videos}):
    (folder / f"person{{index}}.mp4").write_bytes(b"0" * 4096)
    TrainingVideo.objects.create(file=f"videos/ref_videos/person{{index}}.mp4", original_name=f"person{{index}}.mp4", size=4096,
                                 duration=30.0, width=512, height=512, fps=25, has_audio=True, probe_status="ok",
                                 probe={{"errors": [], "warnings": [], "one_face_share": 0.98}})
ids = [runner.new_job(Job.Kind.PROBE, {{"n": index}}, prefix="probe").pk for index in range({jobs})]
Job.objects.filter(pk__in=ids[1:]).update(status="succeeded", stage="done", progress=1.0, log="line\\n" * 50)
print(ids[0], runner.new_job(Job.Kind.TRAIN, {{}}, prefix="train").pk)
"""
    return studio.manage("shell", "-c", script).strip().splitlines()[-1].split()


def parse_wrk(output: str) -> dict:
    def seconds(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
        return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]

    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.MULTILINE))
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": round(seconds(percentiles["50"]) * 1000, 2),
        "p99_ms": round(seconds(percentiles["99"]) * 1000, 2),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "timeouts_or_non_2xx": sum(int(value) for value in re.findall(r"(?:Non-2xx or 3xx responses|Socket errors:.*?timeout)\s*:?\s*(\d+)", output)),
    }


def bench_http(workdir: Path, web_workers: int, seconds: int, port: int | None) -> dict:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the http part (Debian package wrk)")
    with Studio(workdir / "http", web_workers, clusters=False, port=port) as studio:
        probe_id, train_id = seed_catalog(studio)
        paths = ["/api/training-videos", "/api/status", f"/api/tasks/{probe_id}", f"/api/train-status/{train_id}"]
        script = workdir / "rotate.lua"
        script.write_text(WRK_SCRIPT % ", ".join(f'"{path}"' for path in paths))
        for path in paths:
            assert request(studio.url + path)[0] == 200, path
        subprocess.run(["wrk", "-t2", "-c16", "-d3s", "-s", str(script), studio.url], capture_output=True)  # warm-up
        before, cpu_before = load(), studio.server_cpu_seconds()
        output = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), studio.url],
                                capture_output=True, text=True, check=True).stdout
        figures = parse_wrk(output)
        # The server's own CPU per request does not depend on what else runs here: what two idle
        # cores could serve is 2 / that (an upper bound: the clients are not counted).
        cpu_ms = (studio.server_cpu_seconds() - cpu_before) * 1000 / figures["requests"]
        figures.update(server_cpu_ms_per_request=round(cpu_ms, 2), requests_per_second_two_idle_cores=round(2000 / cpu_ms, 1))
        figures.update(clients=16, seconds=seconds, gunicorn_workers=web_workers,
                       endpoints=[re.sub(r"(probe|train)_\w+", "<task_id>", path) for path in paths], load_before=before, load_after=load())
        return figures


# --- uploads: server memory during 10 concurrent 200 MB uploads ------------------------------------------


def stream_upload(url: str, source: Path, results: list, index: int) -> None:
    boundary = "echofu-bench-upload"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"big{index}.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=600) as sock, open(source, "rb") as handle:
        length = len(head) + source.stat().st_size + len(tail)
        sock.sendall((f"POST /api/upload-training-video HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
                      f"boundary={boundary}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n").encode() + head)
        while chunk := handle.read(CHUNK):
            sock.sendall(chunk)
        sock.sendall(tail)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    results[index] = (status, answer.split(b"\r\n\r\n", 1)[-1][:300].decode(errors="replace"))


def bench_uploads(workdir: Path, web_workers: int, port: int | None) -> dict:
    from engines.testing.simple_media import write_plain_video

    source = workdir / "big.mp4"
    write_plain_video(source, seconds=2.0)
    with open(source, "ab") as handle:  # a real video, padded to 200 MB (the probe reads the container header)
        handle.truncate(UPLOAD_BYTES)
    with Studio(workdir / "uploads", web_workers, clusters=False, port=port) as studio:
        idle = studio.server_memory()
        results: list = [None] * 10
        threads = [threading.Thread(target=stream_upload, args=(studio.url, source, results, index)) for index in range(10)]
        peak, before, started = idle, load(), time.monotonic()
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            now = studio.server_memory()
            peak = (max(peak[0], now[0]), max(peak[1], now[1]))
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        stored = sum(1 for status, _ in results if status == 200)
        return {"uploads": 10, "bytes_each": UPLOAD_BYTES, "stored": stored, "answers": sorted({status for status, _ in results}),
                "server_rss_idle_mb": round(idle[0] / 2**20, 1), "server_rss_peak_mb": round(peak[0] / 2**20, 1),
                "server_pss_idle_mb": round(idle[1] / 2**20, 1), "server_pss_peak_mb": round(peak[1] / 2**20, 1),
                "seconds": round(elapsed, 1), "gunicorn_workers": web_workers, "load_before": before, "load_after": load()}


# --- contention: interactive jobs while two trainings run ---------------------------------------------


def wait_job(studio: Studio, task_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = request(f"{studio.url}/api/tasks/{task_id}")
        if body.get("state") in ("succeeded", "failed", "cancelled"):
            return body
        time.sleep(1)
    raise RuntimeError(f"{task_id} did not end within {timeout:.0f}s")


def timed(call) -> tuple[float, dict]:
    started = time.monotonic()
    status, body = call()
    if body.get("status") != "success":
        raise RuntimeError(f"request failed ({status}): {body}")
    return round(time.monotonic() - started, 2), body


def bench_contention(workdir: Path, web_workers: int, train_epochs: int, port: int | None) -> dict:
    from engines.testing.face_video import make_talking_face_video, speech

    face = make_talking_face_video(workdir / "presenter.mp4", seconds=11, size=256, seed=3)
    voice = workdir / "narration.wav"
    _write_wav(voice, speech(10.0, seed=5))
    with Studio(workdir / "contention", web_workers, clusters=True, port=port) as studio:
        url = studio.url
        uploaded = request(f"{url}/api/upload-training-video", {}, {"video": face})[1]
        wait_job(studio, uploaded["probe_task_id"], 600)
        reference = request(f"{url}/api/upload-reference-audio", {}, {"audio": voice})[1]["relative_path"]
        request(f"{url}/audio_clone", {"original_audio_path": reference, "target_audio_id": "narrator"})
        train = {"model_choice": "EchoLite", "ref_video": uploaded["relative_path"], "gpu_choice": "CPU"}
        model_job = request(f"{url}/model_training", {**train, "epoch": str(train_epochs)})[1]["task_id"]
        model_path = wait_job(studio, model_job, 3600)["result"]["model_path"]

        def synthesis():
            return request(f"{url}/audio_clone", {"audio_id": "narrator", "generate_text": SYNTH_TEXT})

        def render():
            return request(f"{url}/video_generation", {"model_name": "EchoLite", "model_param": model_path, "ref_audio": reference,
                                                       "gpu_choice": "CPU"})

        def measure() -> dict:
            # The server answers the same form sent again within REPEAT_WINDOW_SECONDS with the first one's
            # job (monitoring/repeats.py): measured sooner, a synthesis or render would time nothing.
            time.sleep(REPEAT_WINDOW_SECONDS)
            before = load()
            synth_seconds, _ = timed(synthesis)
            render_seconds, _ = timed(render)
            return {"synthesis_seconds": synth_seconds, "render_seconds": render_seconds, "load_before": before, "load_after": load()}

        timed(synthesis), timed(render)  # warm the interactive workers (first model loads)
        idle = measure()
        trainings = [timed(lambda: request(f"{url}/model_training", {**train, "epoch": epochs}))[1]["task_id"]
                     for epochs in BUSY_TRAINING_EPOCHS]
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:  # both training their networks (torch), past face tracking (dlib)
            if all(request(f"{url}/api/tasks/{task}")[1].get("stage") == "train" for task in trainings):
                break
            time.sleep(1)
        busy = measure()
        states = [request(f"{url}/api/tasks/{task}")[1].get("stage") for task in trainings]
        for task in trainings:
            request(f"{url}/api/tasks/{task}/cancel", {})
        return {"idle": idle, "two_trainings_running": {**busy, "training_stages": states},
                "render_audio_seconds": 10.0, "slowdown": {key: round(busy[key] / idle[key], 2) for key in ("synthesis_seconds", "render_seconds")}}


def _write_wav(path: Path, samples, rate: int = 16000) -> None:
    import wave

    import numpy as np

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parts", default="http,uploads,contention")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--port", type=int, help="loopback port of the server (default: a free one)")
    parser.add_argument("--seconds", type=int, default=15, help="length of the http measurement")
    parser.add_argument("--train-epochs", type=int, default=2, help="epochs of the model the render uses (latency, not quality)")
    parser.add_argument("--output", default=str(RESULTS / "jobs.json"))
    args = parser.parse_args()
    output = Path(args.output)
    results = json.loads(output.read_text()) if output.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "note": "shared machine: see load figures"}
    workdir = Path(tempfile.mkdtemp(prefix="echofu-bench-jobs-"))
    try:
        for part in args.parts.split(","):
            started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            if part == "http":
                figures = bench_http(workdir, args.web_workers, args.seconds, args.port)
            elif part == "uploads":
                figures = bench_uploads(workdir, args.web_workers, args.port)
            elif part == "contention":
                figures = bench_contention(workdir, args.web_workers, args.train_epochs, args.port)
            else:
                raise SystemExit(f"unknown part {part!r}")
            results[part] = {**figures, "measured_at": started}
            print(part, json.dumps(figures, indent=2))
            RESULTS.mkdir(parents=True, exist_ok=True)
            output.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
