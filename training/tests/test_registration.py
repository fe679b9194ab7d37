"""A finished training is registered whole or not at all."""
import shutil
import threading

import pytest
from django.conf import settings
from django.db import IntegrityError, connection
from django.utils import timezone

from assets.models import TrainingVideo
from engines.messages import gettext_noop
from engines.talking_head.base import TrainResult
from monitoring import runner
from monitoring.models import Job
from training import jobs, registry
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(media_root):
    # Stored as anna_2.mp4 since another account uploaded an anna.mp4 before; its owner knows it as anna.
    (media_root / "videos/ref_videos/anna_2.mp4").write_bytes(b"not read by the stand-in engine")
    return TrainingVideo.objects.create(file="videos/ref_videos/anna_2.mp4", original_name="anna.mp4", name="anna", size=31,
                                        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
                                        consent_name="anna", consent_wording="test statement", consent_at=timezone.now())


class DeletesItsVideo:
    """A training during which the curator deletes the source video (admin, or scan_media --prune)."""

    def train(self, video_path, workdir, params, progress):
        TrainingVideo.objects.all().delete()
        model_dir = workdir / "model"
        model_dir.mkdir()
        (model_dir / "weights.safetensors").write_bytes(b"w")
        return TrainResult(model_dir=model_dir, metrics={}, warnings=[])


def test_a_video_deleted_while_its_model_trains_leaves_no_model(video, media_root, monkeypatch):
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: DeletesItsVideo())
    job = jobs.prepare_training("EchoLite", video, "cpu", 1, {})
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and "training video anna was deleted while the model trained" in job.error
    assert not TalkingHeadModel.objects.exists() and not list((media_root / "models").glob("*/*"))


def test_a_row_that_cannot_be_created_leaves_no_folder_in_the_registry(video, media_root, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(registry, "create_next_version", refused)
    built = tmp_path / "built"
    built.mkdir()
    (built / "weights.safetensors").write_bytes(b"w")
    with pytest.raises(IntegrityError):
        registry.register("EchoLite", "anna_1", built, person="anna", source_video=video)
    assert not (media_root / "models/EchoLite/anna_1").exists() and (built / "weights.safetensors").exists()


def test_a_row_refused_after_the_jobs_folder_was_removed_leaves_no_folder_in_the_registry(video, media_root, tmp_path, monkeypatch):
    """The job was recovered as stale while its model was registered: recovery removed the job's folder,
    the model's folder has nowhere to go back to, and must not stay in the registry without its row."""
    job_folder = tmp_path / "job"

    def refused_once_recovered(*args, **kwargs):
        shutil.rmtree(job_folder)
        raise IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(registry, "create_next_version", refused_once_recovered)
    built = job_folder / "model"
    built.mkdir(parents=True)
    (built / "weights.safetensors").write_bytes(b"w")
    with pytest.raises(IntegrityError):
        registry.register("EchoLite", "anna_1", built, person="anna", source_video=video)
    assert not (media_root / "models/EchoLite/anna_1").exists()


class WarnsInItsOwnWords:
    """A training whose engine warns about the input, as the ER-NeRF adapter does with frames it cut."""

    def train(self, video_path, workdir, params, progress):
        model_dir = workdir / "model"
        model_dir.mkdir()
        (model_dir / "weights.safetensors").write_bytes(b"w")
        return TrainResult(model_dir=model_dir, metrics={}, warnings=[gettext_noop("au.csv (eye blinks) was derived from the face landmarks, not from OpenFace")])


def test_a_trainings_own_log_lines_are_shown_in_the_pages_language(client, video, media_root, monkeypatch):
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: WarnsInItsOwnWords())
    job = jobs.prepare_training("EchoLite", video, "cuda:99", 1, {})  # a GPU this machine lacks: EchoLite falls back to the CPU
    runner.execute(job.pk)

    def log_tail(language):
        client.cookies["django_language"] = language
        return [line.split("] ", 1)[1] for line in client.get(f"/api/tasks/{job.pk}").json()["log_tail"]]

    assert log_tail("en")[-3:] == [f"warning: cuda:99 requested but CUDA is not available for it here ({settings.GPU_COUNT} GPU(s)), running on CPU",
                                   "training EchoLite on anna (cpu)", "warning: au.csv (eye blinks) was derived from the face landmarks, not from OpenFace"]
    assert log_tail("zh-hans")[-3:] == [f"警告: 请求了 cuda:99, 但此处无法使用 CUDA ({settings.GPU_COUNT} 个 GPU), 改用 CPU 运行",
                                        "用 anna 训练 EchoLite (cpu)", "警告: au.csv (眨眼) 由人脸关键点推算, 而非来自 OpenFace"]


@pytest.mark.django_db(transaction=True)
def test_a_video_deleted_while_its_training_waits_in_the_queue_fails_it_saying_so(client, video, media_root):
    """Deleted by its owner while the training waits for a worker (busy with another one): the task
    status names the video and says so, in the page's language, not the ORM's "matching query does not exist"."""
    job = jobs.prepare_training("EchoLite", video, "cpu", 1, {})
    deleted = threading.Event()
    worker = threading.Thread(target=lambda: (deleted.wait(20), runner.execute(job.pk), connection.close()))
    worker.start()
    video.delete()
    deleted.set()
    worker.join(30)
    body = client.get(f"/api/train-status/{job.pk}").json()
    assert (body["state"], body["error"], body["model_path"]) == ("failed", "训练视频 anna 在训练开始前已被删除; 未训练任何模型", "")
    assert not TalkingHeadModel.objects.exists() and not list((media_root / "models").glob("*/*"))


def test_a_finished_trainings_warnings_and_device_note_are_shown_in_the_pages_language(client, video, media_root, monkeypatch):
    monkeypatch.setattr(jobs, "get_engine", lambda model_type: WarnsInItsOwnWords())
    job = jobs.prepare_training("EchoLite", video, "cuda:99", 1, {})
    runner.execute(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED

    def shown(language):
        client.cookies["django_language"] = language
        answers = [client.get(f"/api/tasks/{job.pk}").json(), client.get(f"/api/train-status/{job.pk}").json(),
                   client.get("/api/history/model_training").json()[0]]
        return [(answer["result"]["warnings"], answer["params"]["device_warning"]) for answer in answers]

    chinese = (["au.csv (眨眼) 由人脸关键点推算, 而非来自 OpenFace"],
               f"警告: 请求了 cuda:99, 但此处无法使用 CUDA ({settings.GPU_COUNT} 个 GPU), 改用 CPU 运行")
    english = (["au.csv (eye blinks) was derived from the face landmarks, not from OpenFace"],
               f"warning: cuda:99 requested but CUDA is not available for it here ({settings.GPU_COUNT} GPU(s)), running on CPU")
    assert shown("zh-hans") == [chinese] * 3
    assert shown("en") == [english] * 3


def test_custom_parameters_shaped_like_a_kept_message_are_shown_as_given(client, video, media_root):
    job = jobs.prepare_training("EchoLite", video, "cpu", 1, {"template": "{x}", "params": "y"})
    answer = client.get(f"/api/tasks/{job.pk}")
    assert answer.status_code == 200 and answer.json()["params"]["custom_params"] == {"template": "{x}", "params": "y"}
