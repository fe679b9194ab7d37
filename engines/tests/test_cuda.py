"""EchoLite on a GPU, for real where one is present; the fallback when the GPU asked for is not.

The GPU tests skip, saying why, on machines without CUDA (CI); they ran on an H100/H200 through
the device tool (figures in bench/results/gpu_checks.json). Set ECHOFU_GPU_REPORT to a path to
have the timings written there.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from engines import media
from engines.talking_head import TrainParams, create_engine
from engines.testing.face_video import make_talking_face_video
from engines.testing.simple_media import tone, write_tone_wav

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA GPU on this machine; run on a GPU machine (it ran on the device tool's H100/H200)")


def report(name: str, figures: dict) -> None:
    """Print the figures and add them to $ECHOFU_GPU_REPORT when set."""
    print(name, json.dumps(figures))
    if path := os.environ.get("ECHOFU_GPU_REPORT"):
        target = Path(path)
        data = json.loads(target.read_text()) if target.is_file() else {}
        data[name] = figures
        target.write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def face_video(tmp_path_factory) -> Path:
    # A syllable-like tone instead of espeak speech, so the GPU machine needs no espeak-ng.
    return make_talking_face_video(tmp_path_factory.mktemp("cuda") / "face.mp4", seconds=12, size=256, seed=3, audio=tone(12.0, 16000))


@needs_cuda
def test_echolite_trains_and_renders_on_cuda0(face_video, tmp_path):
    engine = create_engine("EchoLite")
    stages = []
    started = time.monotonic()
    result = engine.train(face_video, tmp_path / "work", TrainParams(epochs=6, batch_size=24, device="cuda:0"),
                          lambda stage, fraction, message="": stages.append((stage, message)))
    train_seconds = time.monotonic() - started
    assert result.metrics["device"] == "cuda:0" and not any("CUDA is not available" in warning for warning in result.warnings)
    assert torch.cuda.max_memory_allocated(0) > 0, "the network really ran on the GPU"
    assert any("cuda:0" in message for stage, message in stages if stage == "train")

    audio = write_tone_wav(tmp_path / "speech.wav", seconds=3.0)
    timings = {}
    for device in ("cuda:0", "cpu"):
        out = tmp_path / f"render-{device.replace(':', '')}.mp4"
        clock = time.monotonic()
        rendered = engine.render(result.model_dir, audio, out, device=device)
        timings[device] = round(time.monotonic() - clock, 2)
        info = media.probe(out)
        assert rendered.frames == 75 and info.video_codec == "h264" and info.has_audio
    report("echolite_cuda", {"gpu": torch.cuda.get_device_name(0), "train_seconds": round(train_seconds, 1),
                             "epochs": result.metrics["epochs"], "train_frames": result.metrics["train_frames"],
                             "peak_gpu_mib": round(torch.cuda.max_memory_allocated(0) / 2**20),
                             "render_3s_seconds": timings, "self_eval": {key: value for key, value in result.metrics.items()
                                                                         if isinstance(value, float)}})


def test_echolite_falls_back_to_the_cpu_when_cuda_is_hidden():
    """Runs everywhere: CUDA_VISIBLE_DEVICES="" hides the GPUs from a fresh process."""
    code = ("from engines.talking_head.echolite import pick_device; import json; "
            "print(json.dumps(pick_device('cuda:0')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    device, warning = json.loads(done.stdout.strip().splitlines()[-1])
    assert device == "cpu" and "cuda:0 requested but CUDA is not available for it here (0 GPU(s)), running on CPU" in warning
