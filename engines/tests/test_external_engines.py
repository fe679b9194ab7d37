"""ER-NeRF and SyncTalk adapters driving fake checkouts through the real projects' command lines."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from engines import media
from engines.progress import Cancelled
from engines.talking_head import TrainParams, create_engine
from engines.talking_head.external import ExternalCommandFailed, TrainerParser
from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.simple_media import write_plain_video, write_tone_wav


class Recorder:
    """A progress callback that keeps every call, and can cancel once a stage is reached."""

    def __init__(self, cancel_at: str | None = None):
        self.calls: list[tuple[str, float, str]] = []
        self.cancel_at = cancel_at

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        self.calls.append((stage, fraction, message))
        if self.cancel_at and sum(call[0] == self.cancel_at for call in self.calls) > 3:
            raise Cancelled()  # a few seconds into that stage

    @property
    def stages(self) -> list[str]:
        return list(dict.fromkeys(stage for stage, _, _ in self.calls))

    @property
    def text(self) -> str:
        return "\n".join(message for _, _, message in self.calls)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_plain_video(tmp_path_factory.mktemp("video") / "person.mp4", seconds=3.2, size=(96, 96))


def engine_for(project: str, root: Path, **options):
    checkout = make_fake_checkout(root / project, project)
    return create_engine(project, checkout=checkout, python=sys.executable, require_cuda=False, **options), checkout


def test_unconfigured_or_broken_checkouts_say_what_to_set(tmp_path):
    usable, reason = create_engine("ER-NeRF", checkout=None).availability()
    assert not usable and "ECHOFU_ERNERF_DIR" in reason
    usable, reason = create_engine("SyncTalk", checkout=tmp_path / "nowhere").availability()
    assert not usable and "not found" in reason and "ECHOFU_SYNCTALK_DIR" in reason
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "main.py").write_text("")
    usable, reason = create_engine("ER-NeRF", checkout=tmp_path / "half", python=sys.executable).availability()
    assert not usable and "data_utils/process.py missing" in reason
    checkout = make_fake_checkout(tmp_path / "ok", "ER-NeRF")
    usable, reason = create_engine("ER-NeRF", checkout=checkout, python="no-such-python-here").availability()
    assert not usable and "ECHOFU_ERNERF_PYTHON" in reason


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_missing_cuda_is_reported_before_any_work(tmp_path, video):
    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    engine = create_engine("ER-NeRF", checkout=checkout, python=sys.executable, require_cuda=True)
    usable, reason = engine.availability()
    assert not usable and "CUDA is not available" in reason
    with pytest.raises(Exception, match="CUDA is not available"):
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0"))
    assert not (checkout / "data").exists()


def test_trainer_output_becomes_progress_eta_and_metrics():
    parser = TrainerParser()
    assert parser.feed("[INFO] max_epoch = 4") is None
    parser.feed("==> Start Training Epoch 1, lr=0.010000 ...")
    reading = parser.feed("loss=0.0500 (0.0450), lr=0.009876:  50% 10/20 [00:05<00:05,  2.00it/s]")
    assert reading.fraction == pytest.approx(0.125)
    assert reading.eta == pytest.approx((10 + 3 * 20) / 2.0)
    parser.feed("==> Start Training Epoch 4, lr=0.010000 ...")
    assert parser.feed("loss=0.0100 (0.0120), lr=0.001:  100% 20/20 [00:10<00:00,  2.00it/s]").fraction == 1.0
    parser.feed("++> Evaluate at epoch 4 ...")
    assert parser.feed("100% 5/5 [00:01<00:00,  5.00it/s]") is None  # evaluation is not training progress
    parser.feed("PSNR = 27.500000")
    assert parser.metrics == {"loss": 0.012, "psnr": 27.5}


@pytest.mark.parametrize("project", ["ER-NeRF", "SyncTalk"])
def test_train_then_render_through_the_fake_checkout(project, tmp_path, video):
    engine, checkout = engine_for(project, tmp_path, **({"audio_features": "hubert"} if project == "ER-NeRF" else {}))
    assert engine.availability()[0]
    progress = Recorder()
    extra = {"iters": "300", "torso": "true"} if project == "ER-NeRF" else {"iters": "100"}
    result = engine.train(video, tmp_path / "work", TrainParams(epochs=None, lr=0.005, device="cuda:0", extra=extra), progress)

    expected_stages = ["check", "prepare", "preprocess", "train_head", "train_lips"]
    expected_stages += ["train_torso", "collect"] if project == "ER-NeRF" else ["collect"]
    assert progress.stages == expected_stages
    fractions = [fraction for _, fraction, _ in progress.calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "eta " in progress.text and "--lr 0.005" in progress.text
    assert "preprocess: face tracking" in progress.text

    model = result.model_dir
    manifest = json.loads((model / engine.manifest_name).read_text())
    assert engine.is_model_dir(model)
    assert manifest["checkout"]["revision"].startswith("2f88e6ac")
    assert (model / manifest["checkpoint"]).is_file() and (model / "transforms_train.json").is_file()
    assert len(list((model / "gt_imgs").glob("*.jpg"))) == 80
    if project == "ER-NeRF":
        assert manifest["torso"] and manifest["iters"] == {"head": 300, "lips": 375, "torso": 600}
        assert (model / "aud_hu.npy").is_file()
        assert (model / "au.csv").read_text().startswith("frame, AU45_r")
    else:
        assert not manifest["torso"] and manifest["asr_model"] == "ave" and (model / "bs.npy").is_file()
    assert result.metrics["head"]["psnr"] > 20
    assert not any((checkout / "data").iterdir()), "the checkout's data dir is cleaned up"
    assert not list(checkout.glob("trial_*")) and not list(checkout.glob("model/trial_*")), "workspaces are cleaned up"

    audio = write_tone_wav(tmp_path / "new speech.wav", seconds=2.0)
    render_progress = Recorder()
    out = tmp_path / "out" / "video.mp4"
    rendered = engine.render(model, audio, out, render_progress, device="cuda:0")
    info = media.probe(out)
    assert info.video_codec == "h264" and info.has_audio and info.fps == 25
    assert media.container_comment(out) == media.AI_GENERATED
    assert rendered.frames == 50 and (info.width, info.height) == (96, 96)
    assert render_progress.stages[-1] == "encode" and "inference" in render_progress.stages
    assert [path.name for path in out.parent.iterdir()] == ["video.mp4"], "no scratch left next to the output"


def test_a_step_that_writes_nothing_fails_with_its_name(tmp_path, video, monkeypatch):
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    monkeypatch.setenv("FAKE_NERF_FAIL_TASK", "8")
    with pytest.raises(ExternalCommandFailed) as failure:
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "50"}))
    assert "face tracking wrote no track_params.pt" in str(failure.value)
    assert "helper: not found" in str(failure.value), "the output tail travels with the error"
    assert not (tmp_path / "work" / "model").exists() and not any((checkout / "data").iterdir())


def test_cancel_stops_the_training_process_group_and_cleans_up(tmp_path, video, monkeypatch):
    engine, checkout = engine_for("SyncTalk", tmp_path)
    monkeypatch.setenv("FAKE_NERF_STEP_SECONDS", "0.2")
    progress = Recorder(cancel_at="train_head")
    children: set[int] = set()

    def watch():
        for _ in range(600):
            children.update(child.pid for child in psutil.Process().children(recursive=True))
            if progress.calls and progress.calls[-1][0] == "train_head":
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "2000"}), progress)
    assert time.monotonic() - started < 40
    watcher.join(5)
    assert children, "the watcher saw the checkout's processes"
    alive = [pid for pid in children if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == []
    assert not (tmp_path / "work" / "model").exists()
    assert not any((checkout / "data").iterdir()) and not any((checkout / "model").iterdir())


def test_bad_custom_parameters_fail_before_any_preprocessing(tmp_path, video):
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    with pytest.raises(ValueError, match="iters must be a whole number"):
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "many"}))
    assert not (checkout / "data").exists()


def test_docker_image_runs_the_same_command_inside_with_paths_mounted(tmp_path):
    from engines.talking_head.external import Checkout

    checkout = Checkout(tmp_path / "ER-NeRF", python="python3", docker_image="ernerf:cu118", env={"TORCH_HOME": "/cache"})
    command = checkout.command(["main.py", "data/x", "--test"], device="cuda:1", mounts=[tmp_path / "model"])
    argv = command.argv
    assert argv[:4] == ["docker", "run", "--rm", "--init"] and command.container in argv
    assert argv[argv.index("--gpus") + 1] == "device=1"
    assert argv[argv.index("-w") + 1] == str(tmp_path / "ER-NeRF")
    volumes = [argv[index + 1] for index, arg in enumerate(argv) if arg == "-v"]
    assert volumes == [f"{tmp_path / 'ER-NeRF'}:{tmp_path / 'ER-NeRF'}", f"{tmp_path / 'model'}:{tmp_path / 'model'}"]
    assert "TORCH_HOME=/cache" in argv and "PYTHONUNBUFFERED=1" in argv
    assert argv[-5:] == ["ernerf:cu118", "python3", "main.py", "data/x", "--test"]
    local = Checkout(tmp_path / "ER-NeRF", python=sys.executable).command(["main.py"], device="cuda:2")
    assert local.argv == [sys.executable, "main.py"] and local.env["CUDA_VISIBLE_DEVICES"] == "2"
