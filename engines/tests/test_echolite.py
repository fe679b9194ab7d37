"""EchoLite end to end on a generated talking face: gate, train, self-evaluate, render, cancel."""
import json

import av
import numpy as np
import pytest
import torch

from engines import media
from engines.face_tracking import FaceAnalyzer, FaceTracker, face_stats, fill_and_smooth, mouth_opening
from engines.progress import Cancelled
from engines.talking_head import TrainParams, create_engine
from engines.talking_head.echolite import features
from engines.talking_head.echolite.evaluate import best_lag
from engines.testing.face_video import (
    make_multi_face_video,
    make_talking_face_video,
    make_tiny_face_video,
    write_speech_wav,
)
from engines.testing.simple_media import write_plain_video

torch.set_num_threads(2)
EPOCHS = 14


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("echolite")


@pytest.fixture(scope="module")
def talking_video(workspace):
    return make_talking_face_video(workspace / "person.mp4", seconds=14, size=256, seed=1)


@pytest.fixture(scope="module")
def trained(workspace, talking_video):
    stages = []

    def progress(stage, fraction, message=""):
        stages.append((stage, fraction))

    result = create_engine("EchoLite").train(talking_video, workspace / "work", TrainParams(epochs=EPOCHS, lr=3e-3, batch_size=24), progress)
    return result, stages


def test_face_stats_of_generated_video(talking_video):
    stats = face_stats(talking_video, max_samples=20)
    assert stats["one_face_share"] >= 0.9 and stats["multi_face_share"] <= 0.05
    assert 30 < stats["median_face_height_px"] < 80


def test_quality_gate_accepts_a_good_video(talking_video):
    report = create_engine("EchoLite").check_video(talking_video)
    assert report.ok, report.errors
    assert report.stats["one_face_share"] >= 0.9


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda path: write_plain_video(path, seconds=11, size=(256, 256)), "no face"),
        (lambda path: make_multi_face_video(path, seconds=11, size=512), "several faces"),
        (lambda path: make_tiny_face_video(path, seconds=11, size=1024, face_size=400), "too small"),
        (lambda path: make_talking_face_video(path, seconds=11, size=256, with_audio=False), "no audio"),
        (lambda path: make_talking_face_video(path, seconds=5, size=256), "too short"),
    ],
)
def test_quality_gate_refuses_bad_videos_saying_why(tmp_path, make, expected):
    report = create_engine("EchoLite").check_video(make(tmp_path / "bad.mp4"))
    assert not report.ok
    assert any(expected in error for error in report.errors), report.errors


def test_training_writes_a_complete_relocatable_model(trained, workspace):
    result, stages = trained
    engine = create_engine("EchoLite")
    assert engine.is_model_dir(result.model_dir)
    names = {path.name for path in result.model_dir.iterdir()}
    assert {"echolite.json", "weights.pt", "background.mp4", "background_reversed.mp4", "metrics.json", "quality.json"} <= names
    manifest = json.loads((result.model_dir / "echolite.json").read_text())
    assert manifest["training"]["epochs"] == EPOCHS and manifest["training"]["lr"] == 3e-3
    assert manifest["training"]["batch_size"] == 24
    assert (manifest["width"], manifest["height"]) == (256, 256)
    ordered = [stage for stage, _ in stages]
    assert ordered.index("track") < ordered.index("train") < ordered.index("evaluate")
    fractions = [fraction for _, fraction in stages]
    assert fractions[-1] == 1.0


def test_self_evaluation_shows_learned_lip_sync(trained):
    metrics = trained[0].metrics
    assert metrics["holdout_frames"] >= 40
    assert metrics["mouth_psnr"] > 24 and metrics["mouth_ssim"] > 0.8
    assert metrics["sync_correlation"] > 0.5, metrics
    assert abs(metrics["sync_offset_frames"]) <= 1, metrics
    assert json.loads((trained[0].model_dir / "metrics.json").read_text()) == metrics


def test_render_new_speech(trained, workspace):
    audio = write_speech_wav(workspace / "new.wav", seconds=6.0, seed=11)
    out = workspace / "render.mp4"
    result = create_engine("EchoLite").render(trained[0].model_dir, audio, out)
    with av.open(str(out)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and sound.codec_context.name == "aac"
        assert (video.width, video.height) == (256, 256) and video.average_rate == 25
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == result.frames == 150
    assert media.probe(out).duration == pytest.approx(6.0, abs=0.1)
    # The mouth follows the new speech: opening measured on the output correlates with its loudness.
    tracker = FaceTracker(FaceAnalyzer())
    tracks, found = fill_and_smooth([tracker.update(frame) for frame in frames], radius=0)
    assert found.mean() > 0.9
    openings = [mouth_opening(points) for points in tracks]
    energy = features.frame_energy(media.load_audio(audio), len(frames), 25)
    correlation, offset = best_lag(energy, np.array(openings))
    assert correlation > 0.4 and abs(offset) <= 2, (correlation, offset)
    # Frames change smoothly: no jump cut where the background turns around.
    steps = [np.abs(frames[i + 1].astype(int) - frames[i].astype(int)).mean() for i in range(len(frames) - 1)]
    assert max(steps) < 8 * (np.median(steps) + 0.5)


def test_cancel_stops_training_and_render_without_output(workspace, talking_video, trained):
    calls = {"n": 0}

    def cancel_during_training(stage, fraction, message=""):
        if stage == "train":
            calls["n"] += 1
            if calls["n"] > 3:
                raise Cancelled("stop")

    engine = create_engine("EchoLite")
    with pytest.raises(Cancelled):
        engine.train(talking_video, workspace / "cancelled", TrainParams(epochs=50), cancel_during_training)
    assert not engine.is_model_dir(workspace / "cancelled" / "model")

    def cancel_render(stage, fraction, message=""):
        if stage == "render":
            raise Cancelled("stop")

    out = workspace / "cancelled.mp4"
    audio = write_speech_wav(workspace / "short.wav", seconds=3.0)
    with pytest.raises(Cancelled):
        engine.render(trained[0].model_dir, audio, out, cancel_render)
    assert not out.exists()
    assert not any(path.name.startswith(".cancelled") for path in workspace.iterdir())
