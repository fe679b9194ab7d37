"""Jobs against a real `manage.py qcluster` subprocess: run, cancel, stop, SIGKILL mid-job and restart."""
import signal
import time

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from assets.models import TrainingVideo
from engines.testing.face_video import make_talking_face_video
from monitoring.models import Job
from monitoring.tests.qcluster import QCluster, wait_until
from training.models import TalkingHeadModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def worker_settings(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def cluster(worker_settings, media_root, tmp_path):
    """Starts the queue's cluster (probes: interactive; CPU trainings: cpu)."""
    clusters = []

    def start(queue="interactive", **env):
        clusters.append(QCluster(media_root, tmp_path / f"qcluster-{queue}-{len(clusters)}.log", queue, **env).start())
        return clusters[-1]

    yield start
    for running in clusters:
        running.stop()


@pytest.fixture(scope="module")
def speaker_video(tmp_path_factory):
    """Just over the 10 s EchoLite trains on: each test checks it again and prepares it up to its training."""
    return make_talking_face_video(tmp_path_factory.mktemp("lifecycle") / "speaker.mp4", seconds=10.5, size=256, seed=2)


@pytest.fixture
def uploaded_video(client, speaker_video, worker_settings):
    with open(speaker_video, "rb") as handle:
        body = client.post("/api/upload-training-video", {"video": handle}).json()
    assert body["status"] == "success"
    return body


def no_models_on_disk(media_root) -> bool:
    folder = media_root / "models/EchoLite"
    return not folder.exists() or not any(folder.iterdir())


def job_state(job_id):
    return Job.objects.get(pk=job_id)


def start_training(client, video, epochs=200):
    body = client.post("/model_training", {"model_choice": "EchoLite", "ref_video": video["relative_path"], "epoch": str(epochs)}).json()
    assert body["status"] == "success", body
    return body["task_id"]


def taken_off_the_broker(queue: str) -> int:
    """How many tasks of the queue are in a cluster's hands (running or waiting for a worker): the ORM
    broker locks each until `retry`."""
    return OrmQ.objects.filter(key=queue, lock__gt=timezone.now()).count()


def test_a_stopping_cluster_leaves_the_jobs_it_had_not_started_queued(cluster, client, uploaded_video):
    """A cluster told to stop still hands out the tasks it took off the broker ahead of its workers. A job
    begun then would be killed at the end of the grace period; left queued, it runs at the next start."""
    cluster()
    wait_until(lambda: job_state(uploaded_video["probe_task_id"]).status == "succeeded", 120, what="probe")
    trainings = cluster("cpu", ECHOFU_CPU_JOB_SLOTS=1)
    running = start_training(client, uploaded_video)
    wait_until(lambda: job_state(running).stage == "train", 120, what="the first training to run: " + trainings.log())
    waiting = start_training(client, uploaded_video, epochs=201)  # another form: the same one again this soon would be a double click
    wait_until(lambda: taken_off_the_broker("cpu") == 2, 30, what="the cluster to take the second training off the broker")

    trainings.process.send_signal(signal.SIGTERM)
    assert client.post(f"/api/tasks/{running}/cancel").json()["status"] == "success"  # frees its worker within the stop
    wait_until(lambda: trainings.process.poll() is not None or job_state(waiting).status != "queued", 120,
               what="the cluster to stop: " + trainings.log())
    assert job_state(waiting).status == "queued", trainings.log()
    assert trainings.process.wait(timeout=60) == 0

    cluster("cpu", ECHOFU_CPU_JOB_SLOTS=1)
    wait_until(lambda: job_state(waiting).status == "running", 120, what="the waiting training to run after the restart")
    client.post(f"/api/tasks/{waiting}/cancel")


def test_probe_job_runs_on_the_worker(cluster, uploaded_video):
    probe_id = uploaded_video["probe_task_id"]
    assert job_state(probe_id).status == "queued"  # the web process only enqueued it
    worker = cluster()
    done = wait_until(lambda: job_state(probe_id).is_finished and job_state(probe_id), 120, what="probe job: " + worker.log())
    assert done.status == "succeeded", done.error
    video = TrainingVideo.objects.get()
    assert video.probe_status == "ok" and video.probe["one_face_share"] > 0.9


def test_jobs_queued_under_an_earlier_secret_key_run_when_the_cluster_starts(cluster, client, plain_video, monkeypatch):
    """An installation upgraded from a release that let multi-user mode run on the published key must set
    its own: the tasks its waiting jobs left on the broker were signed with the old key, which a cluster
    drops as a bad signature, and the jobs would read as queued forever."""
    monkeypatch.setattr(Conf, "SECRET_KEY", "the published key of the release before")
    with open(plain_video, "rb") as handle:
        probe_id = client.post("/api/upload-training-video", {"video": handle}).json()["probe_task_id"]
    monkeypatch.undo()
    assert job_state(probe_id).status == "queued"

    worker = cluster()
    done = wait_until(lambda: job_state(probe_id).is_finished and job_state(probe_id), 120, what="the probe to run: " + worker.log())
    assert done.status == "succeeded", done.error


def test_cancel_a_running_training(cluster, client, uploaded_video, media_root):
    cluster()
    cluster("cpu")
    wait_until(lambda: job_state(uploaded_video["probe_task_id"]).status == "succeeded", 120, what="probe")
    task_id = start_training(client, uploaded_video)
    wait_until(lambda: job_state(task_id).stage == "train", 120, what="training to reach the train stage")
    response = client.post(f"/api/tasks/{task_id}/cancel").json()
    assert response["status"] == "success"
    job = wait_until(lambda: job_state(task_id).is_finished and job_state(task_id), 120, what="cancel to take effect (at the next progress report)")
    assert job.status == "cancelled"
    assert TalkingHeadModel.objects.count() == 0
    assert not (media_root / "tmp/jobs" / task_id).exists()
    assert no_models_on_disk(media_root)


def test_sigkill_mid_training_then_restart(cluster, client, uploaded_video, media_root):
    cluster()
    worker = cluster("cpu")
    wait_until(lambda: job_state(uploaded_video["probe_task_id"]).status == "succeeded", 120, what="probe")
    task_id = start_training(client, uploaded_video)
    wait_until(lambda: job_state(task_id).stage == "train", 120, what="training to reach the train stage")
    assert (media_root / "tmp/jobs" / task_id).is_dir()  # work in progress lives in the job's temp dir
    worker.kill()
    assert job_state(task_id).status == "running"  # nobody could record anything
    cluster("cpu")  # the next worker start finds the dead job
    job = wait_until(lambda: job_state(task_id).is_finished and job_state(task_id), 60, what="stale job recovery")
    assert job.status == "failed" and "worker" in job.error
    assert TalkingHeadModel.objects.count() == 0
    assert not (media_root / "tmp/jobs" / task_id).exists()
    assert no_models_on_disk(media_root)


def test_a_training_killed_at_the_end_of_a_stop_reads_as_stopped_not_crashed(cluster, client, uploaded_video, media_root):
    """`./run.sh serve` told to stop sends its clusters SIGTERM and kills them once the grace period ends."""
    cluster()
    wait_until(lambda: job_state(uploaded_video["probe_task_id"]).status == "succeeded", 120, what="probe")
    trainings = cluster("cpu")
    task_id = start_training(client, uploaded_video)
    wait_until(lambda: job_state(task_id).stage == "train", 120, what="training to reach the train stage")
    trainings.process.send_signal(signal.SIGTERM)
    time.sleep(3)  # a short grace period: the training needs minutes more
    trainings.kill()
    cluster("cpu")  # the next start finds the job its stop killed
    job = wait_until(lambda: job_state(task_id).is_finished and job_state(task_id), 60, what="stale job recovery")
    assert job.status == "failed"
    assert job.error.startswith("the server was stopped before this job finished"), job.error
    assert TalkingHeadModel.objects.count() == 0 and no_models_on_disk(media_root)
