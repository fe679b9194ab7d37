"""/api/available-models, /api/model-details, /model_training: shapes, validation, codes."""
import json

import pytest
from django.utils import timezone

from assets.models import TrainingVideo
from monitoring.models import Job
from training.models import TalkingHeadModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogued_video(media_root):
    path = media_root / "videos/ref_videos/person.mp4"
    from engines.testing.simple_media import write_plain_video

    write_plain_video(path, seconds=1.0)
    return TrainingVideo.objects.create(
        file="videos/ref_videos/person.mp4", original_name="person.mp4", size=path.stat().st_size,
        probe_status=TrainingVideo.ProbeStatus.OK, probe={"errors": [], "warnings": []},
        consent_name="person", consent_wording="test statement", consent_at=timezone.now(),
    )


@pytest.fixture
def registered_model(media_root):
    directory = media_root / "models/EchoLite/train_20250101_120000"
    directory.mkdir(parents=True)
    (directory / "weights.bin").write_bytes(b"\x00" * 2048)
    (directory / "metrics.json").write_text(json.dumps({"mouth_psnr": 30.5}))
    return TalkingHeadModel.objects.create(
        model_type="EchoLite", name="train_20250101_120000", person="person", size=2048 + 20, file_count=2,
        metrics={"mouth_psnr": 30.5, "mouth_ssim": 0.9, "sync_correlation": 0.6, "sync_offset_frames": 0},
    )


def test_available_models_documented_keys(client, registered_model):
    body = client.get("/api/available-models").json()
    assert body["status"] == "success" and body["total_count"] == 1
    model = body["models"][0]
    assert model["name"] == "train_20250101_120000" and model["type"] == "EchoLite"
    assert model["path"] == "media/models/EchoLite/train_20250101_120000"
    assert model["model_files_count"] == 2 and isinstance(model["created_time"], str)
    assert model["description"] == "EchoLite 模型 - 包含 2 个模型文件"
    assert model["metrics"]["mouth_psnr"] == 30.5
    engines = {engine["type"]: engine for engine in body["engines"]}
    assert set(engines) == {"EchoLite", "ER-NeRF", "SyncTalk"}
    assert engines["ER-NeRF"]["available"] is False and "ECHOFU_ERNERF_DIR" in engines["ER-NeRF"]["reason"]


def test_model_whose_directory_vanished_is_not_listed(client, registered_model):
    import shutil

    shutil.rmtree(registered_model.directory())
    assert client.get("/api/available-models").json()["models"] == []
    assert client.get(f"/api/model-details/EchoLite/{registered_model.name}").status_code == 404


def test_model_details_documented_keys(client, registered_model):
    response = client.get(f"/api/model-details/EchoLite/{registered_model.name}")
    assert response.status_code == 200
    details = response.json()["model_details"]
    for key in ("name", "type", "path", "total_files", "total_size_mb", "created_time", "modified_time", "files"):
        assert key in details
    assert details["total_files"] == 2
    files = {entry["filename"]: entry for entry in details["files"]}
    assert set(files["weights.bin"]) >= {"filename", "relative_path", "size", "size_mb", "file_type", "created_time", "modified_time"}
    assert files["weights.bin"]["size"] == 2048
    assert client.get("/" + files["weights.bin"]["relative_path"]).status_code == 200
    root = client.get("/api/model-details/EchoLite/root").json()["model_details"]
    assert root["total_files"] == 2
    assert {"name", "type", "path", "total_files", "total_size_mb", "created_time", "modified_time", "files"} <= set(root)


def test_model_details_unknown_type_400_missing_404(client):
    bad = client.get("/api/model-details/NotAModel/x")
    assert bad.status_code == 400 and bad.json()["status"] == "error"
    missing = client.get("/api/model-details/ER-NeRF/nothing")
    assert missing.status_code == 404 and missing.json()["status"] == "error"
    client.cookies["django_language"] = "en"
    parent = client.get("/api/model-details/EchoLite/..")
    assert parent.status_code == 404 and parent.json() == {"status": "error", "message": "模型不存在: EchoLite/..",
                                                            "localized_message": "no such model: EchoLite/.."}
    assert bad.json()["message"].startswith("不支持的模型类型 'NotAModel', 可选: ")


@pytest.mark.parametrize("spelling", ["ER_NeRF", "ER NeRF"])
def test_model_details_accepts_the_model_type_spellings_model_choice_accepts(client, media_root, spelling):
    directory = media_root / "models/ER-NeRF/train_20250101_120000"
    directory.mkdir(parents=True)
    (directory / "ernerf.json").write_text("{}")
    TalkingHeadModel.objects.create(model_type="ER-NeRF", name="train_20250101_120000", person="person", size=2, file_count=1)
    found = client.get(f"/api/model-details/{spelling}/train_20250101_120000")
    assert found.status_code == 200, found.content.decode()
    details = found.json()["model_details"]
    assert details["type"] == "ER-NeRF" and details["path"] == "media/models/ER-NeRF/train_20250101_120000"
    root = client.get(f"/api/model-details/{spelling}/root")
    assert root.status_code == 200 and root.json()["model_details"]["type"] == "ER-NeRF"
    missing = client.get(f"/api/model-details/{spelling}/nothing")
    assert missing.status_code == 404 and missing.json() == {"status": "error", "message": "模型不存在: ER-NeRF/nothing",
                                                              "localized_message": "模型不存在: ER-NeRF/nothing"}


def training_error(client, **fields):
    response = client.post("/model_training", fields)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "error"
    return body["message"]


def test_model_training_validates_every_field(client, catalogued_video):
    good = {"model_choice": "EchoLite", "ref_video": "static/videos/ref_videos/person.mp4", "gpu_choice": "GPU0", "epoch": "3"}
    assert "不支持的模型类型" in training_error(client, **{**good, "model_choice": "Wav2Lip"})
    assert "素材库" in training_error(client, **{**good, "ref_video": "media/videos/ref_videos/other.mp4"})
    for epoch in ("0", "-3", "abc", "1.5", "1000001"):
        assert "epoch" in training_error(client, **{**good, "epoch": epoch})
    for params in ("lr", "lr=abc", "lr=-1", "batch_size=0", "=3", "lr=0.1,,x y=2"):
        assert "custom_params" in training_error(client, **{**good, "custom_params": params})
    assert "gpu_choice" in training_error(client, **{**good, "gpu_choice": "TPU9"})
    assert Job.objects.count() == 0


def test_model_training_refuses_video_that_failed_its_check(client, catalogued_video):
    catalogued_video.probe = {"errors": ["no face found in 95% of frames"], "warnings": [],
                              "checks": {"EchoLite": {"errors": ["no face found in 95% of frames"], "warnings": []}}}
    catalogued_video.save()
    message = training_error(client, model_choice="EchoLite", ref_video="media/videos/ref_videos/person.mp4")
    assert "no face" in message


def upload(client, path):
    with open(path, "rb") as handle:
        body = client.post("/api/upload-training-video", {"video": handle}).json()
    assert body["status"] == "success", body
    return body["relative_path"]


def test_each_model_type_judges_the_video_by_its_own_rules(client, tmp_path):
    """A 5 s faceless clip is too short for EchoLite (10 s), not for ER-NeRF (3 s), which refuses it for its own reason."""
    from engines.testing.simple_media import write_plain_video

    video = upload(client, write_plain_video(tmp_path / "short.mp4", seconds=5.0, size=(96, 96)))
    checks = TrainingVideo.objects.get().probe["checks"]
    assert set(checks) == {"EchoLite", "ER-NeRF", "SyncTalk"}
    assert "视频太短" in training_error(client, model_choice="EchoLite", ref_video=video)
    assert not any("short" in str(error) for error in checks["ER-NeRF"]["errors"])
    # ER-NeRF's own rule: its landmark step needs a face in (nearly) every frame.
    refusal = training_error(client, model_choice="ER-NeRF", ref_video=video)
    assert "ER-NeRF 的关键点步骤" in refusal and "未检测到人脸" in refusal and "秒" not in refusal


@pytest.mark.parametrize("model_choice", ["EchoLite", "ER-NeRF", "SyncTalk"])
def test_video_without_audio_is_refused_with_the_reason(client, tmp_path, model_choice):
    from engines.testing.simple_media import write_plain_video

    video = upload(client, write_plain_video(tmp_path / "mute.mp4", seconds=12.0, size=(96, 96), with_audio=False))
    assert "没有音轨" in training_error(client, model_choice=model_choice, ref_video=video)
    assert not Job.objects.filter(kind=Job.Kind.TRAIN).exists()


def test_training_waits_for_a_pending_probe_then_answers_with_its_result(client, catalogued_video, settings):
    """The probe job is queued, not run: the request waits its bounded time and says so."""
    from monitoring import runner

    settings.ECHOFU = {**settings.ECHOFU, "PROBE_WAIT_SECONDS": 0.5}
    probe = runner.new_job(Job.Kind.PROBE, {"video_id": catalogued_video.pk}, prefix="probe")
    TrainingVideo.objects.filter(pk=catalogued_video.pk).update(probe_status=TrainingVideo.ProbeStatus.PENDING, probe_job=probe)
    message = training_error(client, model_choice="EchoLite", ref_video="media/videos/ref_videos/person.mp4")
    assert message == f"ref_video: 视频检查尚未完成 (任务 {probe.pk}), 请稍后重试"  # in Chinese only, as every message is
    runner.execute(probe.pk)  # the check ends: the same request now gets the check's own answer
    assert "视频太短" in training_error(client, model_choice="EchoLite", ref_video="media/videos/ref_videos/person.mp4")


def test_model_training_external_engine_without_checkout_says_so(client, catalogued_video):
    message = training_error(client, model_choice="ER-NeRF", ref_video="media/videos/ref_videos/person.mp4")
    assert "ER-NeRF" in message and "ECHOFU_ERNERF_DIR" in message


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../etc/passwd", "media/../../x.mp4", "static/videos/ref_videos/../../../../etc/hosts"])
def test_paths_outside_media_are_400(client, catalogued_video, path):
    training_error(client, model_choice="EchoLite", ref_video=path)


@pytest.mark.parametrize("spelling", ["ER_NeRF", "ER NeRF"])
def test_the_original_frontends_spelling_of_er_nerf_trains_er_nerf(client, catalogued_video, settings, tmp_path, monkeypatch, spelling):
    """The original training page offers "ER_NeRF", which its backend took for ER-NeRF."""
    import sys

    from engines.testing.fake_nerf import make_fake_checkout
    from monitoring import runner

    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    settings.ECHOFU = {**settings.ECHOFU, "ERNERF_DIR": str(checkout), "ERNERF_PYTHON": sys.executable, "EXTERNAL_REQUIRE_CUDA": False}
    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not trained
    response = client.post("/model_training", {"model_choice": spelling, "ref_video": "media/videos/ref_videos/person.mp4",
                                               "gpu_choice": "GPU0", "epoch": "100"})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success" and body["message"] == "模型训练开始", body
    assert Job.objects.get(pk=body["task_id"]).params["model_type"] == "ER-NeRF"


@pytest.mark.django_db(transaction=True)
def test_a_double_clicked_training_starts_once_and_both_answers_name_that_task(catalogued_video, monkeypatch):
    """The same form sent twice at once (a double click, a resent form): one training of the video, not
    two holding a worker for hours; both answers carry its task_id."""
    from django.test import Client

    from echofu.tests.at_once import at_once
    from monitoring import runner

    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not trained
    form = {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/person.mp4", "gpu_choice": "CPU", "epoch": "1"}

    def click():
        response = Client().post("/model_training", form)
        return response.status_code, response.json()

    answers = at_once([click] * 2, timeout=30)
    assert [code for code, _ in answers] == [200, 200], answers
    job = Job.objects.get(kind=Job.Kind.TRAIN)
    assert {body["task_id"] for _, body in answers} == {job.pk}
    assert all(body["status"] == "success" and body["message"] == "模型训练开始" for _, body in answers)

    form["epoch"] = "2"  # a different request is a training of its own
    assert Client().post("/model_training", form).json()["task_id"] != job.pk
    assert Job.objects.filter(kind=Job.Kind.TRAIN).count() == 2


def test_a_training_request_decides_its_device_once(client, catalogued_video, monkeypatch):
    """The device the repeat check compares and the one the job is queued on are one decision: asked
    twice, a GPU lost between the two would queue a job on a device its repeat check never saw."""
    from monitoring import runner
    from training import jobs

    decided = []
    decide = jobs.usable_device

    def counted(*args):
        decided.append(args)
        return decide(*args)

    monkeypatch.setattr(runner, "submit", lambda job: job)
    monkeypatch.setattr(jobs, "usable_device", counted)
    form = {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/person.mp4", "gpu_choice": "CPU", "epoch": "1"}
    body = client.post("/model_training", form).json()
    assert body["status"] == "success" and Job.objects.get(pk=body["task_id"]).device == "cpu"
    assert len(decided) == 1, decided


def test_the_job_benchmarks_busy_trainings_are_two_trainings_the_form_accepts(client, catalogued_video, monkeypatch):
    """bench/bench_jobs.py measures interactive jobs beside two long trainings it asks /model_training for:
    a refused form left it without its trainings (and without a figure)."""
    import importlib.util
    from pathlib import Path

    from monitoring import runner

    spec = importlib.util.spec_from_file_location("bench_jobs", Path(__file__).resolve().parents[2] / "bench" / "bench_jobs.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not trained
    form = {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/person.mp4", "gpu_choice": "CPU"}
    answers = [client.post("/model_training", {**form, "epoch": epochs}) for epochs in bench.BUSY_TRAINING_EPOCHS]
    assert [answer.status_code for answer in answers] == [200, 200], [answer.json() for answer in answers]
    assert len({answer.json()["task_id"] for answer in answers}) == 2
    assert Job.objects.filter(kind=Job.Kind.TRAIN).count() == 2


@pytest.mark.parametrize("custom_params, ignored, chinese, english", [
    ("lr=0.01,batch_size=4", [], None, None),
    ("lr=0.01,bacth_size=4,iters=10", ["bacth_size", "iters"],
     "custom_params: EchoLite 不使用 bacth_size, iters (可用: lr, batch_size), 已忽略",
     "custom_params: EchoLite does not use bacth_size, iters (it takes: lr, batch_size); ignored"),
])
def test_custom_params_the_engine_does_not_use_are_named_in_a_warning(client, catalogued_video, monkeypatch, custom_params, ignored,
                                                                     chinese, english):
    """The contract leaves custom_params free-form (§10: its own example, batch_size, is one ER-NeRF does not use), so a name
    the engine does not read still trains, but a misspelt one must not pass unseen: the answer names it and what is taken."""
    from monitoring import runner

    monkeypatch.setattr(runner, "submit", lambda job: job)  # queued, not trained
    client.cookies["django_language"] = "en"
    response = client.post("/model_training", {"model_choice": "EchoLite", "ref_video": "media/videos/ref_videos/person.mp4",
                                               "gpu_choice": "CPU", "custom_params": custom_params})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success" and body["message"] == "模型训练开始", body
    assert body["ignored_params"] == ignored
    assert (body.get("warning"), body.get("localized_warning")) == (chinese, english)
    job = Job.objects.get(pk=body["task_id"])
    assert job.params["custom_params"] == dict(item.split("=") for item in custom_params.split(","))  # kept as given
