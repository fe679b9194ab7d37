"""ER-NeRF and SyncTalk adapters driving fake checkouts through the real projects' command lines."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from engines import media
from engines.messages import Message
from engines.progress import Cancelled
from engines.talking_head import TrainParams, create_engine, ernerf, external
from engines.talking_head.ernerf import TrainingProbe, check_training_input, ind_num_for, training_adaptations
from engines.talking_head.external import ExternalCommandFailed, TrainerParser
from engines.testing.face_video import make_multi_face_video, make_talking_face_video
from engines.testing.fake_nerf import make_fake_checkout
from engines.testing.simple_media import write_plain_video, write_tone_wav


class Recorder:
    """A progress callback that keeps every call, and can cancel once a stage is reached."""

    def __init__(self, cancel_when: threading.Event | None = None):
        self.calls: list[tuple[str, float, str]] = []
        self.cancel_when = cancel_when

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        self.calls.append((stage, fraction, message))
        if self.cancel_when is not None and self.cancel_when.is_set():
            raise Cancelled()

    @property
    def stages(self) -> list[str]:
        return list(dict.fromkeys(stage for stage, _, _ in self.calls))

    @property
    def text(self) -> str:
        return "\n".join(message for _, _, message in self.calls)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_talking_face_video(tmp_path_factory.mktemp("video") / "person.mp4", seconds=3.2, size=256, seed=1)


@pytest.fixture(scope="module")
def gappy_video(tmp_path_factory) -> Path:
    """30 fps, and 0.6 s in the middle where the person is gone (an empty grey frame)."""
    source = make_talking_face_video(tmp_path_factory.mktemp("video") / "source.mp4", seconds=4.4, size=256, fps=30, seed=2)
    path = source.with_name("gappy.mp4")
    with media.VideoWriter(path, 256, 256, 30, audio=media.load_audio(source, 16000), audio_rate=16000) as writer:
        for index, frame in enumerate(media.iter_video_frames(source)):
            writer.write(np.full_like(frame, 128) if 45 <= index < 63 else frame)
    return path


def engine_for(project: str, root: Path, **options):
    checkout = make_fake_checkout(root / project, project)
    return create_engine(project, checkout=checkout, python=sys.executable, require_cuda=False, **options), checkout


def run_fake(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=checkout, capture_output=True, text=True, timeout=120)


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


def test_missing_cuda_is_reported_before_any_work(tmp_path, video):
    # CUDA_VISIBLE_DEVICES="" hides every GPU from the checkout's torch, on any machine.
    checkout = make_fake_checkout(tmp_path / "ER-NeRF", "ER-NeRF")
    engine = create_engine("ER-NeRF", checkout=checkout, python=sys.executable, require_cuda=True, env={"CUDA_VISIBLE_DEVICES": ""})
    usable, reason = engine.availability()
    assert not usable and "CUDA is not available" in reason
    with pytest.raises(Exception, match="CUDA is not available"):
        engine.train(video, tmp_path / "work", TrainParams(device="cuda"))
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


def printed(progress: "Recorder", pattern: str) -> list[str]:
    """Lines of the job log (what the user sees) matching `pattern`."""
    return re.findall(pattern, progress.text, re.MULTILINE)


@pytest.mark.slow
def test_ernerf_trains_on_the_real_checkpoint_cadence_then_renders(tmp_path, video):
    engine, checkout = engine_for("ER-NeRF", tmp_path, audio_features="hubert")
    assert engine.availability()[0]
    progress = Recorder()
    # 72 training frames: main.py evaluates every int(5000 / 72) = 69 epochs. The head runs 139
    # epochs (evaluated at 69 and 138), the lips finetune goes on to 141 and the torso to 5,
    # neither reaching an evaluation.
    extra = {"iters": "10000", "lips_iters": "10100", "torso_iters": "300", "torso": "true"}
    result = engine.train(video, tmp_path / "work", TrainParams(lr=0.005, device="cuda:0", extra=extra), progress)

    assert progress.stages == ["check", "prepare", "preprocess", "train_head", "train_lips", "train_torso", "collect"]
    fractions = [fraction for _, fraction, _ in progress.calls]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "eta " in progress.text and "preprocess: face tracking" in progress.text
    commands = printed(progress, r"^\$ .*main\.py.*$")
    assert len(commands) == 3 and all("--ind_num 10000" in command and "--lr 0.005" in command for command in commands)

    model = result.model_dir
    manifest = json.loads((model / "ernerf.json").read_text())
    assert engine.is_model_dir(model) and manifest["checkout"]["revision"].startswith("2f88e6ac")
    assert manifest["torso"] and manifest["iters"] == {"head": 10000, "lips": 10100, "torso": 300}
    assert manifest["frames"] == 80 and manifest["frames_cut"] == 0 and manifest["train_frames"] == 72 and manifest["ind_num"] == 10000
    assert len(list((model / "gt_imgs").glob("*.jpg"))) == 80 and len(list((model / "ori_imgs").glob("*.lms"))) == 80
    assert (model / "aud_hu.npy").is_file() and (model / "au.csv").read_text().startswith("frame, AU45_r")
    # The last epoch's full checkpoint, not the EMA ngp.pth of epoch 138 that it outlived; the
    # torso workspace never evaluated, so it has only epoch checkpoints.
    assert json.loads((model / "checkpoints/head.pth").read_text())["epoch"] == 141
    torso = json.loads((model / "checkpoints/torso.pth").read_text())
    assert torso["epoch"] == 5 and torso["torso"] and torso["ind_num"] == 10000
    evaluations = printed(progress, r"^PSNR = ([\d.]+)$")
    assert printed(progress, r"^\+\+> Evaluate at epoch (\d+)") == ["69", "138"] and len(set(evaluations)) == 2
    epochs_run = printed(progress, r"^==> Start Training Epoch (\d+)")
    assert len(epochs_run) == 139 + 2 + 5
    assert engine.planned_iterations(TrainParams(extra=extra), manifest["frames"]) == len(epochs_run) * 72, "the estimate's basis"
    assert result.metrics["head"]["psnr"] == float(evaluations[-1]), "the last evaluation is the model's figure"
    assert "psnr" not in result.metrics["lips"] and "psnr" not in result.metrics["torso"]
    assert not any("no PSNR" in warning for warning in result.warnings)
    assert not any((checkout / "data").iterdir()), "the checkout's data dir is cleaned up"
    assert not list(checkout.glob("trial_*")), "workspaces are cleaned up"

    audio = write_tone_wav(tmp_path / "new speech.wav", seconds=2.0)
    render_progress = Recorder()
    out = tmp_path / "out" / "video.mp4"
    rendered = engine.render(model, audio, out, render_progress, device="cuda:0")
    info = media.probe(out)
    assert info.video_codec == "h264" and info.has_audio and info.fps == 25
    assert media.container_comment(out) == media.AI_GENERATED
    assert rendered.frames == 50 and (info.width, info.height) == (256, 256)
    assert "--ind_num 10000" in render_progress.text and "--torso" in render_progress.text
    assert render_progress.stages[-1] == "encode" and "inference" in render_progress.stages
    assert [path.name for path in out.parent.iterdir()] == ["video.mp4"], "no scratch left next to the output"


@pytest.fixture(scope="module")
def synctalk_model(tmp_path_factory, video):
    root = tmp_path_factory.mktemp("synctalk")
    engine, checkout = engine_for("SyncTalk", root)
    progress = Recorder()
    result = engine.train(video, root / "work", TrainParams(device="cuda:0", extra={"iters": "100"}), progress)
    return engine, checkout, result, progress


@pytest.mark.slow
def test_synctalk_short_training_falls_back_to_the_last_epoch_and_says_no_psnr(synctalk_model, tmp_path):
    engine, checkout, result, progress = synctalk_model
    assert progress.stages == ["check", "prepare", "preprocess", "train_head", "train_lips", "collect"]
    manifest = json.loads((result.model_dir / "synctalk.json").read_text())
    assert not manifest["torso"] and manifest["asr_model"] == "ave" and manifest["ind_num"] == 20000
    assert (result.model_dir / "bs.npy").is_file() and len(list((result.model_dir / "parsing").glob("*_face.png"))) == 80
    # 100 iterations on 72 frames: 2 head epochs, lips to epoch 3; no evaluation (every 69), so no ngp.pth.
    assert json.loads((result.model_dir / "checkpoints/head.pth").read_text()) ["epoch"] == 3
    assert not printed(progress, r"^PSNR = ") and "psnr" not in result.metrics["head"]
    assert any("no PSNR was measured" in warning and "every 69 epochs" in warning for warning in result.warnings)

    out = tmp_path / "synctalk.mp4"
    rendered = engine.render(result.model_dir, write_tone_wav(tmp_path / "speech.wav", seconds=1.0), out)
    assert rendered.frames == 25 and media.probe(out).has_audio


@pytest.mark.slow
def test_the_adapters_own_log_lines_keep_their_template_and_the_projects_output_stays_as_it_came(synctalk_model):
    *_, result, progress = synctalk_model
    assert result.warnings and all(isinstance(warning, Message) for warning in result.warnings), result.warnings
    ours = {message.template for _, _, message in progress.calls if isinstance(message, Message)}
    assert {"checking the {model_type} checkout and the video", "preprocess: {step}", "{stage}: {fraction:.0%}, eta {seconds:.0f}s",
            "collecting the model into {model_dir}", "{model_type} model ready: {metrics}"} <= ours
    theirs = [line for _, _, message in progress.calls if not isinstance(message, Message) for line in message.splitlines()]
    assert any(line.startswith("$ ") and "main.py" in line for line in theirs)
    assert "[INFO] ===== perform face tracking =====" in theirs, "the project's own output, as it came"
    assert not [line for line in theirs if re.search(r"eta \d+s$", line)], "each note is one translatable line"


@pytest.mark.slow
def test_render_refuses_an_incomplete_model_and_explains_the_projects_own_failures(synctalk_model, tmp_path, monkeypatch):
    engine, _, result, _ = synctalk_model
    model = tmp_path / "model"
    import shutil

    shutil.copytree(result.model_dir, model)
    audio = write_tone_wav(tmp_path / "speech.wav", seconds=0.5)
    (model / "torso_imgs" / "7.png").unlink()
    with pytest.raises(ValueError, match=r"incomplete \(torso_imgs/7\.png missing\): train it again") as refused:
        engine.render(model, audio, tmp_path / "a.mp4")
    assert isinstance(refused.value.args[0], Message), "the job's reason, shown in the reader's language"
    # Were the check not there, main.py itself would die on that frame with OpenCV's assertion.
    monkeypatch.setattr(type(engine), "missing_render_files", lambda self, model_dir: [])
    with pytest.raises(ExternalCommandFailed, match=r"an image main\.py reads per frame is missing") as failure:
        engine.render(model, audio, tmp_path / "a.mp4")
    assert "!_src.empty() in function 'cvtColor'" in str(failure.value)

    shutil.copy(result.model_dir / "torso_imgs" / "7.png", model / "torso_imgs" / "7.png")
    manifest = json.loads((model / "synctalk.json").read_text())
    (model / "synctalk.json").write_text(json.dumps({**manifest, "ind_num": 30000}))
    with pytest.raises(ExternalCommandFailed, match=r"the checkpoint was trained with another --ind_num") as failure:
        engine.render(model, audio, tmp_path / "a.mp4")
    assert "torch.Size([20000, 4]) from checkpoint" in str(failure.value)
    assert not (tmp_path / "a.mp4").exists()


def test_main_py_refuses_more_frames_than_ind_num_as_the_real_one_does(synctalk_model, tmp_path):
    """The assertion that used to kill a long clip after hours of preprocessing; the adapter sizes --ind_num."""
    _, checkout, result, _ = synctalk_model
    done = run_fake(checkout, "main.py", str(result.model_dir), "--workspace", str(tmp_path / "ws"), "--asr_model", "ave",
                    "--iters", "10", "--ind_num", "50")
    assert done.returncode == 1
    assert "AssertionError: [ERROR] dataset too many frames: 72, please increase --ind_num to this number!" in done.stderr
    assert "more training frames than --ind_num" in str(ExternalCommandFailed("train_head", "exit code 1", done.stderr.splitlines()))
    assert ind_num_for(72, 20000) == 20000 and ind_num_for(12_000, 10_000) == 12_001


@pytest.mark.slow
def test_frames_without_a_face_are_cut_and_the_rate_converted(tmp_path, gappy_video):
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    report = engine.check_video(gappy_video)
    assert report.ok, report.errors
    assert any("30.00 fps will be converted" in warning for warning in report.warnings)
    result = engine.train(gappy_video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "50", "torso": "false"}))
    manifest = json.loads((result.model_dir / "ernerf.json").read_text())
    # 4.4 s at 25 fps = 110 frames, of which the 0.6 s without a face (about 15) were cut.
    assert manifest["frames"] + manifest["frames_cut"] == 110 and 12 <= manifest["frames_cut"] <= 18
    assert len(list((result.model_dir / "gt_imgs").glob("*.jpg"))) == manifest["frames"]
    assert media.probe(result.model_dir / "aud.wav").duration == pytest.approx(manifest["frames"] / 25, abs=0.05)
    assert any(f"{manifest['frames_cut']} of 110 frames show no face and were cut" in warning for warning in result.warnings)


@pytest.mark.slow
def test_a_frame_without_a_face_kills_the_landmark_step_as_in_the_real_project(tmp_path, gappy_video, monkeypatch):
    """Why the frames are cut: with them, process.py dies in extract_landmarks and the job says why."""
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    monkeypatch.setattr(ernerf, "FaceFilter", lambda: (lambda frame: True))
    with pytest.raises(ExternalCommandFailed, match=r"found no face in a frame") as failure:
        engine.train(gappy_video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "50"}))
    assert failure.value.stage == "preprocess" and "TypeError: object of type 'NoneType' has no len()" in str(failure.value)
    assert not (tmp_path / "work" / "model").exists() and not any((checkout / "data").iterdir())


def probe(duration=60.0, fps=25.0, has_audio=True, no_face=0.0, multi_face=0.0, audio_duration=None) -> TrainingProbe:
    info = media.MediaInfo(container="mov,mp4", duration=duration, has_video=True, has_audio=has_audio, width=512, height=512, fps=fps,
                           video_codec="h264", audio_codec="aac", sample_rate=16000, channels=1,
                           audio_duration=duration if audio_duration is None else audio_duration)
    return TrainingProbe(info, {"no_face_share": no_face, "multi_face_share": multi_face, "one_face_share": 1 - no_face - multi_face})


def test_what_cannot_be_adapted_is_a_problem_and_what_can_is_a_note():
    assert check_training_input(probe()) == []
    assert check_training_input(probe(has_audio=False)) == ["the file has no audio track: ER-NeRF learns the lip motion from the speech"]
    assert check_training_input(probe(duration=2.0)) == ["the video is 2.0 s long; at least 3 s are needed"]
    [faceless] = check_training_input(probe(no_face=0.6))
    assert faceless.startswith("no face is found in 60% of the sampled frames")
    assert check_training_input(probe(duration=5.0, no_face=0.5)) == ["only about 2.5 s show a face; at least 3 s are needed"]
    [crowd] = check_training_input(probe(multi_face=0.7), "SyncTalk")
    assert crowd.startswith("two or more faces are in 70% of the sampled frames: SyncTalk learns one person")
    # Eight minutes at 30 fps: ER-NeRF's 10000 individual codes would not do; the adapter raises the number.
    notes = training_adaptations(probe(duration=480.0, fps=30.0, no_face=0.1), "ER-NeRF", 10_000)
    assert "30.00 fps will be converted to the 25 fps ER-NeRF expects" in notes
    assert "12000 frames exceed ER-NeRF's default --ind_num 10000; it is raised to fit" in notes
    assert any(note.startswith("no face in about 10% of the sampled frames: frames without a face are cut") for note in notes)
    assert training_adaptations(probe(duration=480.0), "SyncTalk", 20_000) == []
    # A screen capture whose picture stopped a minute before its sound.
    assert training_adaptations(probe(duration=60.0, audio_duration=120.0), "ER-NeRF", 10_000) == [
        "the soundtrack runs 60.0 s past the picture: only the sound under the picture is learned from"]


@pytest.mark.parametrize("kind", ["faceless", "crowd"])
def test_a_video_that_cannot_be_adapted_is_refused_before_any_work(kind, tmp_path):
    engine, checkout = engine_for("SyncTalk", tmp_path)
    if kind == "faceless":
        video, reason = write_plain_video(tmp_path / "plain.mp4", seconds=4.0, size=(128, 128)), "no face is found in 100% of the sampled frames"
    else:
        video, reason = make_multi_face_video(tmp_path / "two.mp4", seconds=4.0, size=512), "two or more faces are in"
    with pytest.raises(ValueError, match=f"the video cannot be used for training: {reason}"):
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0"))
    assert not (checkout / "data").exists()


def test_a_helper_that_is_not_found_fails_the_step_with_its_name(tmp_path, video, monkeypatch):
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    monkeypatch.setenv("FAKE_NERF_FAIL_TASK", "8")  # process.py's os.system fails, process.py exits 0
    with pytest.raises(ExternalCommandFailed) as failure:
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "50"}))
    assert "face tracking wrote no track_params.pt" in str(failure.value)
    assert "echofu_missing_helper: not found" in str(failure.value), "the output tail travels with the error"
    assert not (tmp_path / "work" / "model").exists() and not any((checkout / "data").iterdir())


def test_cancel_kills_the_whole_process_tree_even_a_grandchild_ignoring_sigterm(tmp_path, video, monkeypatch):
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    monkeypatch.setenv("FAKE_NERF_STEP_SECONDS", "0.5")
    monkeypatch.setenv("FAKE_NERF_IGNORE_SIGTERM", "1")
    tracker_running, stop_watching = threading.Event(), threading.Event()
    tree: dict[str, psutil.Process] = {}  # role -> the process, seen alive while the tracker ran
    seen_at: list[float] = []

    def watch():
        while not stop_watching.is_set() and not tracker_running.is_set():
            for process in psutil.Process().children(recursive=True):
                try:
                    if "face_tracker.py" in " ".join(process.cmdline()):
                        # os.system's `sh -c` may exec the command in place (dash does) or stay between.
                        parent = process.parent()
                        if "data_utils/process.py" not in parent.cmdline():
                            tree["shell"], parent = parent, parent.parent()
                        assert "data_utils/process.py" in parent.cmdline() and parent.ppid() == os.getpid()
                        tree.update(tracker=process, process_py=parent)
                        seen_at.append(time.monotonic())
                        tracker_running.set()
                except psutil.Error:
                    pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with pytest.raises(Cancelled):
            engine.train(video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "50"}), Recorder(cancel_when=tracker_running))
    finally:
        stop_watching.set()
        watcher.join(5)
    # The next progress call raises; SIGKILL follows SIGTERM after the grace period at the latest.
    assert time.monotonic() - seen_at[0] < external.POLL_SECONDS + external.TERMINATE_GRACE_SECONDS + 20
    # process.py -> (sh -c) -> python face_tracker.py: the tracker is not a child of the command
    # the adapter started but of os.system, and it ignores SIGTERM.
    assert {"tracker", "process_py"} <= set(tree)

    def alive(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    assert [role for role, process in tree.items() if alive(process)] == [], "every process of the tree is gone"
    assert not (tmp_path / "work" / "model").exists() and not any((checkout / "data").iterdir())


def test_an_engine_does_not_outlive_a_worker_killed_outright(tmp_path):
    """SIGKILL (run.sh's stop, the out-of-memory killer) gives the worker no chance to stop its engine."""
    pid_file = tmp_path / "engine.pid"
    worker_code = (
        "import os, sys; from pathlib import Path; sys.path.insert(0, os.getcwd());"
        "from engines.talking_head.external import Command, run_command;"
        f"run_command(Command(argv=['sh', '-c', 'echo $$ > {pid_file}; exec sleep 60'], cwd=Path('.'), env=dict(os.environ)),"
        " 'train', lambda *args: None)"
    )
    worker = subprocess.Popen([sys.executable, "-c", worker_code], start_new_session=True)
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    engine = psutil.Process(int(pid_file.read_text()))
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    try:
        engine.wait(10)
    except psutil.TimeoutExpired:
        engine.kill()
        pytest.fail("the engine trained on after its worker was killed")


def test_bad_custom_parameters_fail_before_any_preprocessing(tmp_path, video):
    engine, checkout = engine_for("ER-NeRF", tmp_path)
    with pytest.raises(ValueError, match="iters must be a whole number") as refused:
        engine.train(video, tmp_path / "work", TrainParams(device="cuda:0", extra={"iters": "many"}))
    assert isinstance(refused.value.args[0], Message), "the job's reason, shown in the reader's language"
    assert not (checkout / "data").exists()


def test_planned_work_is_the_iterations_main_py_runs_in_every_stage():
    """A training's estimate grows with its planned iterations. main.py trains whole epochs over the training
    split (10/11 of the frames) up to --iters and resumes from its workspace's latest checkpoint: the lips
    finetune (--iters 125000 in the head's workspace) adds 25000 to the head's 100000; the torso, in a
    workspace of its own, runs all of its 200000."""
    engine = create_engine("ER-NeRF", checkout=None)
    video_frames = 1100  # 1000 training frames: 100 head epochs, 125 with the lips, 200 torso epochs
    head_and_lips = engine.planned_iterations(TrainParams(extra={"torso": "false"}), video_frames)
    assert head_and_lips == 100_000 + 25_000
    assert engine.planned_iterations(TrainParams(), video_frames) == head_and_lips + 200_000
    # `epoch` counts the training split's frames, and a stage ends on a whole epoch: 10 head epochs,
    # the lips on to ceil(12.5) = 13, 20 torso epochs.
    assert engine.planned_iterations(TrainParams(epochs=10), video_frames) == (10 + 3 + 20) * 1000
    synctalk = create_engine("SyncTalk", checkout=None)  # head 60000, lips on to 100000, portrait (no torso) by default
    assert synctalk.planned_iterations(TrainParams(), video_frames) == 100_000
    assert synctalk.planned_iterations(TrainParams(extra={"torso": "true"}), video_frames) == 100_000 + 150_000


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
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"  # what it writes here can be moved and deleted here
    assert argv[-5:] == ["ernerf:cu118", "python3", "main.py", "data/x", "--test"]
    local = Checkout(tmp_path / "ER-NeRF", python=sys.executable).command(["main.py"], device="cuda:2")
    assert local.argv == [sys.executable, "main.py"] and local.env["CUDA_VISIBLE_DEVICES"] == "2"


def test_a_projects_render_is_encoded_whatever_the_frame_size_limit_for_what_users_send(tmp_path):
    """ER-NeRF and SyncTalk render at their model's size; a limit lowered after training guards uploads, not them."""
    rendered = tmp_path / "ngp_ep0010.mp4"
    with media.VideoWriter(rendered, 320, 240, fps=25) as writer:
        for _ in range(25):
            writer.write(np.full((240, 320, 3), 60, dtype=np.uint8))
    with media.frame_sides_at_most(200):
        frames, width, height = external.reencode(rendered, tmp_path / "out.mp4", np.zeros(16000, np.float32), "render", lambda *args: None)
    assert (frames, width, height) == (25, 320, 240)
