"""Training queues against real qclusters: one training per GPU in order, queue positions, cancel
while queued, the interactive queue answering while the GPU trains, SIGKILL and restart, external
engines end to end."""
import sys

import pytest
from django.utils import timezone

from assets.models import TrainingVideo
from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.face_video import make_talking_face_video
from engines.testing.simple_media import write_plain_video
from monitoring.models import Job
from monitoring.tests.qcluster import QCluster, use_gpu_queues, wait_until
from training.models import TalkingHeadModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def fake_ernerf(settings, tmp_path):
    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    settings.ECHOFU = {**settings.ECHOFU, "ERNERF_DIR": str(checkout), "ERNERF_PYTHON": sys.executable,
                       "EXTERNAL_REQUIRE_CUDA": False}
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    use_gpu_queues(settings, 1)
    return checkout


@pytest.fixture
def clusters(fake_ernerf, media_root, tmp_path):
    started = []

    def start(queue, **env):
        cluster = QCluster(media_root, tmp_path / f"qcluster-{queue}.log", queue, ECHOFU_ERNERF_DIR=fake_ernerf,
                           ECHOFU_ERNERF_PYTHON=sys.executable, ECHOFU_EXTERNAL_REQUIRE_CUDA="0", **env)
        started.append(cluster.start())
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture
def checked_video(media_root):
    path = make_talking_face_video(media_root / "videos/ref_videos/anna.mp4", seconds=3.2, size=256, seed=1)
    return TrainingVideo.objects.create(
        file="videos/ref_videos/anna.mp4", original_name="anna.mp4", size=path.stat().st_size,
        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
        consent_name="anna", consent_wording="test statement", consent_at=timezone.now(),
    )


def test_two_trainings_on_one_gpu_run_in_order_with_queue_positions(client, clusters, checked_video):
    form = {"model_choice": "ER-NeRF", "ref_video": "media/videos/ref_videos/anna.mp4", "gpu_choice": "GPU0",
            "custom_params": "iters=150, torso=false"}
    first = client.post("/model_training", form).json()
    # Another form: the same one again this soon is a double click, answered with the first task.
    second = client.post("/model_training", {**form, "custom_params": "iters=160, torso=false"}).json()
    assert first["status"] == second["status"] == "success"
    assert first["task_id"].startswith("train_") and first["task_id"] != second["task_id"]
    assert client.get(f"/api/train-status/{second['task_id']}").json()["queue_position"] == 2

    worker = clusters("gpu0", FAKE_NERF_STEP_SECONDS="0.02")
    wait_until(lambda: Job.objects.get(pk=first["task_id"]).status == "running", 60, what="first training to start")
    waiting = client.get(f"/api/train-status/{second['task_id']}").json()
    assert waiting["state"] == "queued" and waiting["queue_position"] == 1, waiting
    running = wait_until(
        lambda: (body := client.get(f"/api/train-status/{first['task_id']}").json())["stage"].startswith("train_") and body,
        120, poll=0.1, what="first training to reach its training stage: " + worker.log())
    assert running["device"] == "cuda:0" and 0 < running["progress"] < 1
    done = [wait_until(lambda job_id=task["task_id"]: Job.objects.get(pk=job_id).is_finished and Job.objects.get(pk=job_id),
                       180, what="trainings to finish: " + worker.log()) for task in (first, second)]
    assert [job.status for job in done] == ["succeeded", "succeeded"], [job.error for job in done]
    assert done[1].started_at >= done[0].finished_at, "the second training waited for the GPU"

    status = client.get(f"/api/train-status/{second['task_id']}").json()
    assert status["state"] == "succeeded" and status["model_path"].startswith("media/models/ER-NeRF/")
    models = TalkingHeadModel.objects.filter(model_type="ER-NeRF").order_by("version")
    assert [model.version for model in models] == [1, 2], "retraining the same person adds a version"
    assert all((model.directory() / "ernerf.json").is_file() for model in models)
    # 150 iterations never reach main.py's first evaluation (every 69 epochs here): no PSNR, and the model says so.
    assert models[0].metrics["head"]["loss"] > 0 and "psnr" not in models[0].metrics["head"]

    listed = {model["name"]: model for model in client.get("/api/available-models").json()["models"]}
    assert any("未测得 PSNR" in warning for warning in listed[models[0].name]["warnings"]), "in the page's language"
    assert {model.name for model in models} <= set(listed)
    details = client.get(f"/api/model-details/ER-NeRF/{models[1].name}").json()
    assert details["status"] == "success"


def job(job_id) -> Job:
    return Job.objects.get(pk=job_id)


def ended(job_id, timeout, what):
    return wait_until(lambda: job(job_id).is_finished and job(job_id), timeout, what=what)


def test_gpu_queue_order_cancel_interactive_and_sigkill(client, clusters, checked_video, tmp_path):
    form = {"model_choice": "ER-NeRF", "ref_video": "media/videos/ref_videos/anna.mp4", "gpu_choice": "GPU0"}
    # three forms that differ: the same one again this soon would be a double click, answered with the first task
    first, second, third = (client.post("/model_training", {**form, "custom_params": f"iters={iters}, torso=false"}).json()["task_id"]
                            for iters in (2000, 2001, 2002))
    assert {job(task).queue for task in (first, second, third)} == {"gpu0"}
    gpu = clusters("gpu0", FAKE_NERF_STEP_SECONDS="0.05")
    interactive = clusters("interactive")

    wait_until(lambda: job(first).stage.startswith("train_"), 180, what="first training to train: " + gpu.log())
    assert job(second).status == "queued" and job(third).status == "queued"
    positions = [client.get(f"/api/tasks/{task}").json()["queue_position"] for task in (second, third)]
    assert positions == [1, 2]
    assert client.post(f"/api/tasks/{third}/cancel").json()["state"] == "cancelled"

    # The interactive queue answers while the GPU is busy: an upload's probe runs at once.
    with open(write_plain_video(tmp_path / "clip.mp4", seconds=2.0, size=(96, 96)), "rb") as handle:
        probe = client.post("/api/upload-training-video", {"video": handle}).json()["probe_task_id"]
    assert job(probe).queue == "interactive"
    assert ended(probe, 120, "probe: " + interactive.log()).status == "succeeded"
    assert job(first).status == "running", "the probe did not wait behind the training"

    # SIGKILL while the first trains and the second waits (already taken off the broker by
    # the cluster's pusher): the first ends failed, the second still runs after the restart.
    gpu.kill()
    clusters("gpu0", FAKE_NERF_STEP_SECONDS="0")
    failed = ended(first, 60, "stale recovery")
    assert failed.status == "failed" and "worker" in failed.error
    done = ended(second, 240, "the waiting training after the restart: " + gpu.log())
    assert done.status == "succeeded", done.error
    assert done.started_at >= failed.finished_at
    assert job(third).status == "cancelled" and job(third).started_at is None
    assert [model.job_id for model in TalkingHeadModel.objects.all()] == [second]
