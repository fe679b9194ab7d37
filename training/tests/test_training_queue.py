"""Training at scale against a real qcluster: one training per GPU in order, external engines end to end."""
import sys

import pytest
from django.utils import timezone

from assets.models import TrainingVideo
from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.simple_media import write_plain_video
from monitoring.models import Job
from monitoring.tests.qcluster import QCluster, wait_until
from training.models import TalkingHeadModel

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.slow]


@pytest.fixture
def fake_ernerf(settings, tmp_path):
    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    settings.ECHOFU = {**settings.ECHOFU, "ERNERF_DIR": str(checkout), "ERNERF_PYTHON": sys.executable,
                       "EXTERNAL_REQUIRE_CUDA": False}
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    return checkout


@pytest.fixture
def checked_video(media_root):
    path = write_plain_video(media_root / "videos/ref_videos/anna.mp4", seconds=3.2, size=(96, 96))
    return TrainingVideo.objects.create(
        file="videos/ref_videos/anna.mp4", original_name="anna.mp4", size=path.stat().st_size,
        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
        consent_name="anna", consent_wording="test statement", consent_at=timezone.now(),
    )


def test_two_trainings_on_one_gpu_run_in_order_with_queue_positions(client, fake_ernerf, checked_video, media_root, tmp_path):
    form = {"model_choice": "ER-NeRF", "ref_video": "media/videos/ref_videos/anna.mp4", "gpu_choice": "GPU0",
            "custom_params": "iters=150, torso=false"}
    first = client.post("/model_training", form).json()
    second = client.post("/model_training", form).json()
    assert first["status"] == second["status"] == "success"
    assert first["task_id"].startswith("train_") and first["task_id"] != second["task_id"]
    assert client.get(f"/api/train-status/{second['task_id']}").json()["queue_position"] == 2

    worker = QCluster(media_root, tmp_path / "qcluster.log", FAKE_NERF_STEP_SECONDS="0.02",
                      ECHOFU_ERNERF_DIR=fake_ernerf, ECHOFU_ERNERF_PYTHON=sys.executable,
                      ECHOFU_EXTERNAL_REQUIRE_CUDA="0").start()
    try:
        wait_until(lambda: Job.objects.get(pk=first["task_id"]).status == "running", 60, what="first training to start")
        waiting = client.get(f"/api/train-status/{second['task_id']}").json()
        assert waiting["state"] == "queued" and waiting["queue_position"] == 1, waiting
        running = wait_until(
            lambda: (body := client.get(f"/api/train-status/{first['task_id']}").json())["stage"].startswith("train_") and body,
            120, poll=0.1, what="first training to reach its training stage: " + worker.log())
        assert running["device"] == "cuda:0" and 0 < running["progress"] < 1
        done = [wait_until(lambda job_id=task["task_id"]: Job.objects.get(pk=job_id).is_finished and Job.objects.get(pk=job_id),
                           180, what="trainings to finish: " + worker.log()) for task in (first, second)]
    finally:
        worker.stop()
    assert [job.status for job in done] == ["succeeded", "succeeded"], [job.error for job in done]
    assert done[1].started_at >= done[0].finished_at, "the second training waited for the GPU"

    status = client.get(f"/api/train-status/{second['task_id']}").json()
    assert status["state"] == "succeeded" and status["model_path"].startswith("media/models/ER-NeRF/")
    models = TalkingHeadModel.objects.filter(model_type="ER-NeRF").order_by("version")
    assert [model.version for model in models] == [1, 2], "retraining the same person adds a version"
    assert all((model.directory() / "ernerf.json").is_file() for model in models)
    assert models[0].metrics["head"]["psnr"] > 20

    listed = {model["name"]: model for model in client.get("/api/available-models").json()["models"]}
    assert {model.name for model in models} <= set(listed)
    details = client.get(f"/api/model-details/ER-NeRF/{models[1].name}").json()
    assert details["status"] == "success"
