"""The same code on PostgreSQL + the django-q2 Redis broker, as on two machines.

Real servers from the Debian packages on loopback, a gunicorn web server, and two "machines"
each running the interactive and CPU-training clusters. Four client threads send 40 jobs
(uploads whose probes run on the interactive queue, fake ER-NeRF trainings on the CPU queue);
the training cluster of the machine that trains first is SIGKILLed mid-training. Every job must end, run at most once
(exactly once unless it was the killed one), the killed training must end failed with nothing
of it registered, and model versions must stay unique per person.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.face_video import make_talking_face_video
from engines.testing.simple_media import write_plain_video
from monitoring.tests import servers
from monitoring.tests.qcluster import stop_gracefully, wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.worker]

CLIENTS, UPLOADS_PER_CLIENT, TRAININGS_PER_CLIENT = 4, 9, 1  # 4 x (9 + 1) = 40 jobs

# Runs inside `manage.py shell` on the PostgreSQL database: what the test checks, as JSON.
REPORT = """
import json
from django_q.models import Task
from monitoring.models import Job
from training.models import TalkingHeadModel
runs = {}
for task in Task.objects.filter(func="monitoring.runner.execute"):
    if task.result != "skipped":
        runs[task.name] = runs.get(task.name, 0) + 1
print(json.dumps({
    "jobs": list(Job.objects.values("id", "kind", "status", "queue", "error", "worker")),
    "runs": runs,
    "models": [{"person": m.person, "version": m.version, "job": m.job_id, "dir": str(m.directory()), "exists": m.exists()}
               for m in TalkingHeadModel.objects.all()],
}))
"""


def post(url: str, fields: dict, files: dict | None = None) -> dict:
    boundary = "echofu-scale-boundary"
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode() for name, value in fields.items()]
    for name, path in (files or {}).items():
        parts.append(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{path.name}\"\r\n"
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + path.read_bytes() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())
    except OSError:
        return {}


@pytest.fixture
def backing_servers():
    if not servers.available():
        pytest.skip(servers.MISSING)
    base = Path(tempfile.mkdtemp(prefix="echofu-scale-"))
    os.chmod(base, 0o755)  # the postgres user must reach its data dir
    postgres, redis = servers.Postgres(base / "pg"), servers.Redis(base / "redis")
    try:
        yield postgres.start(), redis.start(), base
    finally:
        redis.stop()
        postgres.stop()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_forty_jobs_two_machines_postgres_redis_sigkill(backing_servers, tmp_path):
    postgres, redis, base = backing_servers
    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    media = tmp_path / "media"
    env = {
        **{key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"},
        "DJANGO_SETTINGS_MODULE": "echofu.settings",
        "DATABASE_URL": postgres.url, "ECHOFU_REDIS_URL": redis.url, "ECHOFU_MEDIA_ROOT": str(media),
        "ECHOFU_GPUS": "0", "ECHOFU_CPU_JOB_SLOTS": "1", "ECHOFU_INTERACTIVE_WORKERS": "1", "ECHOFU_Q_POLL": "0.2",
        "ECHOFU_HEARTBEAT_SECONDS": "0.5", "ECHOFU_STALE_AFTER_SECONDS": "30", "ECHOFU_PROBE_WAIT_SECONDS": "300",
        "ECHOFU_ERNERF_DIR": str(checkout), "ECHOFU_ERNERF_PYTHON": sys.executable, "ECHOFU_EXTERNAL_REQUIRE_CUDA": "0",
        "FAKE_NERF_STEP_SECONDS": "0.01",
        # One local user with the operator's consent statement, as ./run.sh serve runs by default.
        "ECHOFU_SINGLE_USER": "true", "ECHOFU_SINGLE_USER_CONSENT": "Test Person",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = servers.free_port()
    processes: dict[str, subprocess.Popen] = {}

    def start(name, command, **extra):
        log = open(tmp_path / f"{name}.log", "ab")
        processes[name] = subprocess.Popen(command, cwd=ROOT, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        log.close()

    def log_of(name):
        return (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]

    start("web", [sys.executable, "-m", "gunicorn", "echofu.wsgi:application", "--bind", f"127.0.0.1:{port}",
                  "--workers", "2", "--worker-class", "gthread", "--threads", "8", "--timeout", "400"])
    for machine in ("a", "b"):
        for queue in ("interactive", "cpu"):
            start(f"{machine}-{queue}", [sys.executable, "manage.py", "qcluster"], Q_CLUSTER_NAME=queue)
    web = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{web}/api/status").get("timestamp"), 120, poll=0.5, what="gunicorn: " + log_of("web"))
        # ER-NeRF's own input rule wants a face in (nearly) every frame.
        people = [make_talking_face_video(tmp_path / f"{name}.mp4", seconds=3.2, size=256, seed=seed)
                  for seed, name in enumerate(("anna", "ben"))]
        clip = write_plain_video(tmp_path / "clip.mp4", seconds=0.6, size=(64, 48))
        videos = [post(f"{web}/api/upload-training-video", {}, {"video": path})["relative_path"] for path in people]

        task_ids: list[str] = []
        errors: list[str] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            for index in range(UPLOADS_PER_CLIENT + TRAININGS_PER_CLIENT):
                if index == 2:
                    body = post(f"{web}/model_training", {"model_choice": "ER-NeRF", "ref_video": videos[(number + index) % 2],
                                                          "gpu_choice": "CPU", "custom_params": "iters=60, torso=false"})
                else:
                    body = post(f"{web}/api/upload-training-video", {}, {"video": clip})
                with lock:
                    if body.get("status") != "success":
                        errors.append(json.dumps(body, ensure_ascii=False))
                    task_ids.append(body.get("task_id") or body.get("probe_task_id"))

        threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
        for thread in threads:
            thread.start()

        # SIGKILL the training cluster of whichever machine trains first, mid-training.
        def machine_training():
            for task in [task for task in list(task_ids) if task and task.startswith("train_")]:
                info = get_json(f"{web}/api/tasks/{task}")
                if info.get("state") == "running" and info.get("stage", "").startswith("train_"):
                    pid = _worker_pid(task, postgres.url)
                    for machine in ("a", "b"):
                        cluster = psutil.Process(processes[f"{machine}-cpu"].pid)
                        if pid in {str(child.pid) for child in cluster.children(recursive=True)}:
                            return task, machine
            return None

        killed, machine = wait_until(machine_training, 300, poll=0.5, what="a training: " + log_of("a-cpu") + log_of("b-cpu"))
        os.killpg(processes[f"{machine}-cpu"].pid, signal.SIGKILL)
        processes[f"{machine}-cpu"].wait(timeout=30)
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors
        assert len(task_ids) == CLIENTS * (UPLOADS_PER_CLIENT + TRAININGS_PER_CLIENT) == 40

        def all_ended():
            states = [get_json(f"{web}/api/tasks/{task}").get("state") for task in task_ids]
            return all(state in ("succeeded", "failed", "cancelled") for state in states)

        wait_until(all_ended, 600, poll=2, what="all 40 jobs to end: " + log_of("a-cpu") + log_of("b-cpu"))
    finally:
        for process in processes.values():
            stop_gracefully(process, 60)

    report = json.loads(subprocess.run([sys.executable, "manage.py", "shell", "-c", REPORT], cwd=ROOT, env=env,
                                       check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    jobs = {job["id"]: job for job in report["jobs"]}
    assert {jobs[task]["queue"] for task in task_ids} == {"interactive", "cpu"}
    killed_job = jobs[killed]
    assert killed_job["status"] == "failed" and "worker" in killed_job["error"]
    for task in task_ids:
        if task == killed:
            assert report["runs"].get(task, 0) == 0, "the killed run never reported a result"
        else:
            assert jobs[task]["status"] == "succeeded", (task, jobs[task]["error"])
            assert report["runs"].get(task) == 1, f"{task} ran {report['runs'].get(task)} times"
    models = report["models"]
    trained = {task for task in task_ids if task.startswith("train_") and task != killed}
    assert {model["job"] for model in models} == trained
    assert killed not in {model["job"] for model in models}
    assert len({(model["person"], model["version"]) for model in models}) == len(models), "versions are unique per person"
    assert all(model["exists"] for model in models)
    model_dirs = {path.name for path in (media / "models/ER-NeRF").iterdir()}
    assert model_dirs == {Path(model["dir"]).name for model in models}, "no model files without a row"
    assert not (media / "tmp/jobs" / killed).exists()


def _worker_pid(task: str, database_url: str) -> str:
    """The pid part of the job's `worker` (host:pid), read straight from PostgreSQL."""
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as connection:
        row = connection.execute("SELECT worker FROM monitoring_job WHERE id = %s", (task,)).fetchone()
    return row[0].rpartition(":")[2] if row else ""
