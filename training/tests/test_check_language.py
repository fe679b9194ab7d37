"""The training video check's findings in the reader's language: Chinese by default (and in the
contract's `message`), English for a visitor who chose English."""
import pytest

from assets.models import TrainingVideo

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_faceless_video(client, tmp_path):
    """A 5 s clip of 96x96 with no face: too short for EchoLite, faceless for ER-NeRF, low resolution."""
    from engines.testing.simple_media import write_plain_video

    path = write_plain_video(tmp_path / "short.mp4", seconds=5.0, size=(96, 96))
    with open(path, "rb") as handle:
        body = client.post("/api/upload-training-video", {"video": handle}).json()
    assert body["status"] == "success", body
    return body["relative_path"]


def listed_probe(client, relative_path):
    body = client.get("/api/training-videos").json()
    return next(video for video in body["files"] if video["relative_path"] == relative_path)["probe"]


def test_check_findings_are_listed_in_chinese_by_default(client, short_faceless_video):
    probe = listed_probe(client, short_faceless_video)
    assert probe["usable"] is False
    assert "视频太短: 5.0 秒, 至少需要 10 秒的讲话" in probe["errors"]
    assert "分辨率低 (96x96): 嘴部会显得模糊" in probe["warnings"]
    assert any("ER-NeRF" in error and "未检测到人脸" in error for error in probe["checks"]["ER-NeRF"]["errors"])
    assert not any(text.isascii() for text in probe["errors"] + probe["warnings"])


def test_check_findings_are_listed_in_english_for_the_english_studio(client, short_faceless_video):
    client.cookies["django_language"] = "en"
    probe = listed_probe(client, short_faceless_video)
    assert "the video is too short: 5.0 s, at least 10 s of speech is needed" in probe["errors"]
    assert "low resolution (96x96): mouths will look soft" in probe["warnings"]


def test_training_refusal_is_chinese_in_the_contracts_message_and_english_for_the_english_studio(client, short_faceless_video):
    client.cookies["django_language"] = "en"  # the contract's message does not follow the page
    response = client.post("/model_training", {"model_choice": "EchoLite", "ref_video": short_faceless_video})
    assert response.status_code == 400
    body = response.json()
    assert body["message"].startswith("ref_video: 视频不适合 EchoLite 训练: 视频太短: 5.0 秒, 至少需要 10 秒的讲话; ")
    assert "未检测到人脸" in body["message"] and "too short" not in body["message"] and "no face" not in body["message"]
    assert body["localized_message"].startswith(
        "ref_video: the video does not suit EchoLite training: the video is too short: 5.0 s, at least 10 s of speech is needed; no face was found")


def test_findings_kept_as_plain_text_by_older_rows_are_shown_as_they_are(client, short_faceless_video):
    video = TrainingVideo.objects.get()
    video.probe = {**video.probe, "errors": ["the video is too short: 5.0 s"], "warnings": []}
    video.save()
    assert listed_probe(client, short_faceless_video)["errors"] == ["the video is too short: 5.0 s"]


def test_a_models_warnings_are_listed_in_the_readers_language(client, media_root):
    from engines.messages import gettext_noop
    from echofu.messages import stored
    from training.models import TalkingHeadModel

    directory = media_root / "models/EchoLite/train_20250101_120000"
    directory.mkdir(parents=True)
    (directory / "weights.bin").write_bytes(b"\x00" * 64)
    TalkingHeadModel.objects.create(
        model_type="EchoLite", name="train_20250101_120000", size=64, file_count=1,
        warnings=[stored(gettext_noop("low resolution ({width}x{height}): mouths will look soft", width=96, height=96))],
    )
    assert client.get("/api/available-models").json()["models"][0]["warnings"] == ["分辨率低 (96x96): 嘴部会显得模糊"]
    client.cookies["django_language"] = "en"
    assert client.get("/api/available-models").json()["models"][0]["warnings"] == ["low resolution (96x96): mouths will look soft"]


def test_why_an_engine_cannot_run_here_is_listed_in_the_readers_language(client):
    def reasons():
        return {engine["type"]: engine["reason"] for engine in client.get("/api/available-models").json()["engines"]}

    assert reasons()["ER-NeRF"] == "未配置 ER-NeRF 代码目录 (请设置 ECHOFU_ERNERF_DIR)"
    client.cookies["django_language"] = "en"
    assert reasons()["ER-NeRF"] == "ER-NeRF checkout is not configured (set ECHOFU_ERNERF_DIR)"


def test_training_an_engine_that_cannot_run_here_is_refused_in_both_languages(client, short_faceless_video):
    from assets.models import TrainingVideo

    video = TrainingVideo.objects.get()
    video.probe = {**video.probe, "checks": {**video.probe["checks"], "ER-NeRF": {"errors": [], "warnings": [], "usable": True}}}
    video.save()
    client.cookies["django_language"] = "en"
    body = client.post("/model_training", {"model_choice": "ER-NeRF", "ref_video": short_faceless_video}).json()
    assert body["message"] == "未配置 ER-NeRF 代码目录 (请设置 ECHOFU_ERNERF_DIR)"
    assert body["localized_message"] == "ER-NeRF checkout is not configured (set ECHOFU_ERNERF_DIR)"


@pytest.mark.parametrize("field, value, chinese, english", [
    ("custom_params", "lr=fast", "custom_params: lr 必须是正数", "custom_params: lr must be a positive number"),
    ("custom_params", "batch_size=0", "custom_params: batch_size 必须是正整数", "custom_params: batch_size must be a positive integer"),
    ("custom_params", "iters", "custom_params: 条目 'iters' 不是 name=value 形式", "custom_params: entry 'iters' is not name=value"),
    ("custom_params", "x=" + "1" * 1000, "custom_params: 超过 1000 个字符", "custom_params: longer than 1000 characters"),
    ("epoch", "0", "epoch: 必须是 1 到 100000 之间的整数", "epoch: must be a whole number from 1 to 100000"),
    ("gpu_choice", "GPU", "gpu_choice: 'GPU' 无效: 使用 GPU0, GPU1, ... 或 CPU", "gpu_choice: 'GPU' is not valid: use GPU0, GPU1, ... or CPU"),
])
def test_malformed_fields_are_refused_naming_the_field_once(client, short_faceless_video, field, value, chinese, english):
    client.cookies["django_language"] = "en"
    response = client.post("/model_training", {"model_choice": "EchoLite", "ref_video": short_faceless_video, field: value})
    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": chinese, "localized_message": english}


def test_a_checkout_whose_python_has_no_cuda_is_named_in_the_readers_language(client, settings, tmp_path):
    import sys

    from engines.testing.fake_nerf import make_fake_checkout

    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    settings.ECHOFU = {**settings.ECHOFU, "ERNERF_DIR": str(checkout), "ERNERF_PYTHON": sys.executable, "EXTERNAL_REQUIRE_CUDA": True}
    # the probe's interpreter: a python that cannot import torch answers as one without CUDA does
    interpreter = tmp_path / "bin" / "python"
    interpreter.parent.mkdir()
    interpreter.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named torch' >&2\nexit 1\n")
    interpreter.chmod(0o755)
    settings.ECHOFU["ERNERF_PYTHON"] = str(interpreter)

    def reason(language):
        client.cookies["django_language"] = language
        return {engine["type"]: engine["reason"] for engine in client.get("/api/available-models").json()["engines"]}["ER-NeRF"]

    assert reason("zh-hans") == f"ER-NeRF: {interpreter} 无法导入 torch: ModuleNotFoundError: No module named torch"
    assert reason("en") == f"ER-NeRF: {interpreter} cannot import torch: ModuleNotFoundError: No module named torch"
