"""Jobs against a real `manage.py qcluster` subprocess: run, cancel, SIGKILL mid-job and restart."""
import pytest

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

    def start(queue="interactive"):
        clusters.append(QCluster(media_root, tmp_path / f"qcluster-{queue}.log", queue).start())
        return clusters[-1]

    yield start
    for running in clusters:
        running.stop()


@pytest.fixture
def uploaded_video(client, tmp_path, worker_settings):
    path = make_talking_face_video(tmp_path / "speaker.mp4", seconds=12, size=256, seed=2)
    with open(path, "rb") as handle:
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


def test_probe_job_runs_on_the_worker(cluster, uploaded_video):
    probe_id = uploaded_video["probe_task_id"]
    assert job_state(probe_id).status == "queued"  # the web process only enqueued it
    worker = cluster()
    done = wait_until(lambda: job_state(probe_id).is_finished and job_state(probe_id), 120, what="probe job: " + worker.log())
    assert done.status == "succeeded", done.error
    video = TrainingVideo.objects.get()
    assert video.probe_status == "ok" and video.probe["one_face_share"] > 0.9


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
