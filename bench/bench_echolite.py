"""EchoLite benchmark: train on a 60 s 512x512 25 fps talking face, render 30 s of new speech.

Prints a table and saves bench/results/echolite.json. Run: .venv/bin/python bench/bench_echolite.py
`--conditions` instead trains one model per recording condition (calm, moving head, changing
light, Mandarin speech) and saves the self-evaluation of each to echolite_conditions.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
import torch  # noqa: E402

from engines.talking_head import TrainParams, create_engine  # noqa: E402
from engines.testing.face_video import make_talking_face_video, write_speech_wav  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


class PeakMemory:
    """Highest resident memory of this process and its children, sampled every 50 ms."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        process = psutil.Process()
        while not self._stop.wait(0.05):
            rss = process.memory_info().rss + sum(child.memory_info().rss for child in process.children(recursive=True))
            self.peak = max(self.peak, rss)

    def __enter__(self):
        self.peak = psutil.Process().memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def directory_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


CONDITIONS = {
    "calm": {"motion": 0.4, "light_drift": 0.05},
    "moving_head": {"motion": 2.0},
    "changing_light": {"light_drift": 0.35},
    "mandarin_speech": {"voice": "cmn"},
}


def conditions(seconds: float, size: int, device: str, output: Path) -> None:
    """Self-evaluation across recording conditions, so the figures do not describe one video only."""
    engine = create_engine("EchoLite")
    rows = {}
    for name, options in CONDITIONS.items():
        with tempfile.TemporaryDirectory() as tmp:
            video = make_talking_face_video(Path(tmp) / "person.mp4", seconds=seconds, size=size, seed=7, **options)
            started = time.monotonic()
            trained = engine.train(video, Path(tmp) / "train", TrainParams(device=device))
            metrics = trained.metrics
            rows[name] = {"options": options, "train_seconds": round(time.monotonic() - started, 1),
                          "warnings": trained.warnings,
                          **{key: metrics[key] for key in ("mouth_psnr", "mouth_ssim", "sync_correlation", "sync_offset_frames",
                                                           "real_sync_correlation", "real_sync_offset_frames")}}
        print(name, rows[name])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"input": {"seconds": seconds, "size": size, "device": device}, "conditions": rows},
                                 indent=2, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--render-seconds", type=float, default=30.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", default=None)
    parser.add_argument("--conditions", action="store_true", help="self-evaluation across recording conditions")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1) if args.device == "cpu" else torch.get_num_threads())
    if args.conditions:
        conditions(args.seconds, args.size, args.device, Path(args.output or RESULTS / "echolite_conditions.json"))
        return
    args.output = args.output or str(RESULTS / "echolite.json")
    engine = create_engine("EchoLite")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video = make_talking_face_video(work / "person.mp4", seconds=args.seconds, size=args.size, seed=42, motion=1.2)
        speech = write_speech_wav(work / "speech.wav", args.render_seconds, seed=77)
        started = time.monotonic()
        with PeakMemory() as memory:
            trained = engine.train(video, work / "train", TrainParams(device=args.device))
        train_seconds = time.monotonic() - started
        started = time.monotonic()
        rendered = engine.render(trained.model_dir, speech, work / "out.mp4", device=args.device)
        render_seconds = time.monotonic() - started
        model_bytes = directory_size(trained.model_dir)
    results = {
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "device": args.device,
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "python": platform.python_version(), "torch": torch.__version__},
        "input": {"seconds": args.seconds, "size": args.size, "fps": 25},
        "training": {"wall_seconds": round(train_seconds, 1), "peak_memory_mb": round(memory.peak / 2**20),
                     "epochs": trained.metrics.get("epochs"), "frames": trained.metrics.get("train_frames")},
        "render": {"audio_seconds": args.render_seconds, "frames": rendered.frames, "wall_seconds": round(render_seconds, 2),
                   "fps": round(rendered.frames / render_seconds, 1), "real_time_factor": round(render_seconds / args.render_seconds, 3)},
        "self_evaluation": {key: trained.metrics[key] for key in ("mouth_psnr", "mouth_ssim", "sync_correlation", "sync_offset_frames",
                                                                   "real_sync_correlation", "real_sync_offset_frames", "holdout_frames")},
        "model_size_mb": round(model_bytes / 2**20, 2),
        "targets": {"training_under_5_min": train_seconds < 300, "peak_memory_under_3_gb": memory.peak < 3 * 2**30,
                    "render_at_least_25_fps": rendered.frames / render_seconds >= 25,
                    "sync_offset_within_1_frame": abs(trained.metrics["sync_offset_frames"]) <= 1},
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2))
    for section, values in results.items():
        if not isinstance(values, dict):
            print(f"{section:<30} {values}")
            continue
        print(f"{section}:")
        for key, value in values.items():
            print(f"  {key:<28} {value}")


if __name__ == "__main__":
    main()
