"""EchoLite's real-recording benchmark with training and rendering on a CUDA GPU, in three steps.

For a GPU machine that has PyTorch but not the offline Whisper, dlib's landmark model or the
voices (the device tool's machines take 64 MiB of files per call): the CPU steps run here and
only what the GPU does travels.

  prepare FOLDER   here: split each recording as bench_echolite does (first 80 % to train), run
                   the engine's own preparation on the training part (tracking, crops, delay,
                   Whisper), and write the audios the tail is rendered from with their Whisper states.
  gpu FOLDER OUT   on the GPU machine (torch, numpy, OpenCV, PyAV): fit the model on cuda:0 with the
                   default time budget and with --epochs, then render the tail from each audio on
                   cuda:0 and on that machine's CPU, timing each; models and renders go to OUT. Of
                   FOLDER it reads prepared.npz/.json, holdout.json, model/background_frames.npz and
                   {own,tts,other}.wav/.states.npy of each recording, so one recording can travel a call.
  evaluate FOLDER RESULTS...   here: the self-evaluation of each model and the renders against the
                   real tail frames, as bench_echolite's real benchmark, for every recording that one
                   of the gpu steps' OUT folders holds; saves echolite_real_cuda.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from engines import media  # noqa: E402
from engines.progress import no_progress  # noqa: E402
from engines.talking_head import TrainParams, create_engine  # noqa: E402
from engines.talking_head.echolite import alignment, features, fit_model  # noqa: E402
from engines.talking_head.echolite.prepare import BACKGROUND_FILE, FPS, Prepared  # noqa: E402
from engines.talking_head.echolite.sync import AudioDelay  # noqa: E402
from engines.talking_head.echolite.train import DEFAULT_TRAIN_SECONDS, evaluation_seconds  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ARRAYS = ("tracks", "found", "transforms", "crops", "audio")


class StoredStates:
    """Whisper states computed before, in SpeechEncoder's place (the GPU machine has no Whisper)."""

    def __init__(self, states: np.ndarray):
        self._states = states

    def states(self, audio: np.ndarray) -> np.ndarray:
        return self._states


def save_prepared(prepared: Prepared, folder: Path, seconds: float) -> None:
    np.savez_compressed(folder / "prepared.npz", states=features.encoder_states(prepared.audio), **{name: getattr(prepared, name) for name in ARRAYS})
    (folder / "holdout.json").write_text(json.dumps([len(data) for data in prepared.holdout_jpegs]))
    (folder / "holdout.jpegs").write_bytes(b"".join(prepared.holdout_jpegs))
    (folder / "prepared.json").write_text(json.dumps({
        "width": prepared.width, "height": prepared.height, "frame_count": prepared.frame_count,
        "template": prepared.template.to_dict(), "delay": [prepared.delay.frames, prepared.delay.correlation, prepared.delay.found, prepared.delay.basis],
        "background_frames": prepared.background_frames, "holdout_start": prepared.holdout_start, "prepare_seconds": seconds}))


def load_prepared(folder: Path) -> tuple[Prepared, float]:
    """The Prepared that `save_prepared` wrote, and how long preparing it took."""
    meta = json.loads((folder / "prepared.json").read_text())
    arrays = np.load(folder / "prepared.npz")
    delay = AudioDelay(*meta["delay"])
    jpegs = []
    if (folder / "holdout.jpegs").is_file():
        data, offset = (folder / "holdout.jpegs").read_bytes(), 0
        for length in json.loads((folder / "holdout.json").read_text()):
            jpegs.append(data[offset: offset + length])
            offset += length
    windows = features.frame_windows(arrays["states"], meta["frame_count"], FPS, delay.frames)
    prepared = Prepared(meta["width"], meta["height"], meta["frame_count"], arrays["tracks"], arrays["found"],
                        alignment.Template.from_dict(meta["template"]), arrays["transforms"], arrays["crops"], arrays["audio"],
                        delay, windows, meta["background_frames"], meta["holdout_start"], jpegs)
    return prepared, meta["prepare_seconds"]


def prepare_step(folder: Path) -> None:
    import bench_echolite as bench
    from engines.face_tracking import FaceAnalyzer
    from engines.talking_head.echolite.prepare import prepare

    analyzer = FaceAnalyzer()
    for recording in bench.RECORDINGS:
        work = folder / recording["name"]
        (work / "model").mkdir(parents=True, exist_ok=True)
        video = recording["path"]
        train_video, test_frames, audio, split = bench.split_recording(video, work)
        delay, delay_details = bench.recording_delay(list(media.iter_video_frames(video, fps=FPS)), audio, analyzer)
        started = time.monotonic()
        prepared = prepare(train_video, work / "model", no_progress)
        save_prepared(prepared, work, time.monotonic() - started)
        audios, text = bench.speech_to_render(audio, split, delay, len(test_frames), work)
        for name, speech in audios.items():
            media.write_wav(work / f"{name}.wav", speech, features.SAMPLE_RATE)
            np.save(work / f"{name}.states.npy", features.encoder_states(speech))
        (work / "recording.json").write_text(json.dumps({"split": split, "delay": delay, "delay_details": delay_details, "text": text}))
        print(recording["name"], "prepared:", prepared.frame_count, "frames")


def timed_render(engine, model_dir: Path, work: Path, name: str, device: str, out: Path) -> dict:
    model = engine.load(model_dir, device)
    states = StoredStates(np.load(work / f"{name}.states.npy"))
    synchronise(device)
    started = time.monotonic()
    result = engine.render_loaded(model, work / f"{name}.wav", out, encoder=states)
    seconds = time.monotonic() - started
    return {"device": device, "frames": result.frames, "wall_seconds": round(seconds, 2), "fps": round(result.frames / seconds, 1),
            "stages": {stage: round(value, 2) for stage, value in result.timings.items()}}


def synchronise(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def gpu_step(folder: Path, out: Path, epochs: int, device: str) -> None:
    """`device` other than cuda:0 only to try the step out on a machine without a GPU."""
    cuda = device.startswith("cuda")
    engine = create_engine("EchoLite")
    figures = {"machine": {"gpu": torch.cuda.get_device_name(device) if cuda else None, "cpus": os.cpu_count(), "torch": torch.__version__,
                           "python": platform.python_version(), "torch_threads": torch.get_num_threads(), "crop": alignment.CROP}}
    for work in sorted(path for path in folder.iterdir() if (path / "prepared.json").is_file()):
        prepared, prepare_seconds = load_prepared(work)
        row = figures[work.name] = {}
        for label, count in (("default", None), (f"epochs_{epochs}", epochs)):
            model_dir = out / work.name / label
            model_dir.mkdir(parents=True)
            shutil.copy(work / "model" / BACKGROUND_FILE, model_dir / BACKGROUND_FILE)
            if cuda:
                torch.cuda.reset_peak_memory_stats(device)
            # The budget train() gives fitting: the default time less what preparing and evaluating take.
            seconds = DEFAULT_TRAIN_SECONDS - prepare_seconds - evaluation_seconds(prepared.frame_count - prepared.holdout_start)
            synchronise(device)
            started = time.monotonic()
            fitted = fit_model(prepared, model_dir, TrainParams(epochs=count, device=device), device, no_progress, seconds)
            synchronise(device)
            row[label] = {"training": {**fitted, "fit_seconds": round(time.monotonic() - started, 1), "device": device,
                                       "peak_gpu_mib": round(torch.cuda.max_memory_allocated(device) / 2**20) if cuda else None},
                          "renders": {}}
            names = ("own", "tts", "other") if count is None else ("own",)
            for name in names:
                row[label]["renders"][name] = timed_render(engine, model_dir, work, name, device, model_dir / f"{name}.mp4")
            if count is None:
                row[label]["renders"]["own_on_cpu"] = timed_render(engine, model_dir, work, "own", "cpu", model_dir / "own_cpu.mp4")
            (model_dir / BACKGROUND_FILE).unlink()
            print(work.name, label, json.dumps(row[label]), flush=True)
    (out / "cuda.json").write_text(json.dumps(figures, indent=2))


def evaluate_step(folder: Path, results: list[Path], output: Path) -> None:
    """`results`: what one or more gpu steps wrote (one recording a call fits the device tool's 64 MiB)."""
    import bench_echolite as bench
    from engines.face_tracking import FaceAnalyzer
    from engines.talking_head.echolite.holdout import self_evaluate
    from engines.talking_head.echolite.model import MouthModel

    analyzer = FaceAnalyzer()
    machine, runs = None, {}
    for path in results:
        gpu = json.loads((path / "cuda.json").read_text())
        machine = machine or gpu.pop("machine")
        runs.update({name: (path / name, figures) for name, figures in gpu.items() if name != "machine"})
    rows = {}
    for recording in bench.RECORDINGS:
        work, name = folder / recording["name"], recording["name"]
        if name not in runs:
            continue
        run_dir, labels = runs[name]
        prepared, prepare_seconds = load_prepared(work)
        meta = json.loads((work / "recording.json").read_text())
        video = recording["path"]
        test_frames = list(media.iter_video_frames(video, fps=FPS))[meta["split"]:]
        test_frames = [frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2] for frame in test_frames]
        audios = {name: media.load_audio(work / f"{name}.wav", features.SAMPLE_RATE) for name in ("own", "tts", "other")}
        rows[name] = {"file": recording["path"].name, **{key: recording[key] for key in ("what", "source", "licence")},
                      "recording_audio_delay": meta["delay_details"],
                      "prepare_seconds_on_this_cpu": round(prepare_seconds, 1)}
        for label, figures in labels.items():
            renders = {speech: list(media.iter_video_frames(run_dir / label / f"{speech}.mp4")) for speech in figures["renders"]
                       if speech in audios}
            with tempfile.TemporaryDirectory() as tmp:
                model_dir = Path(tmp) / "model"
                shutil.copytree(run_dir / label, model_dir)
                shutil.copy(work / "model" / BACKGROUND_FILE, model_dir / BACKGROUND_FILE)
                row = {**figures, "self_evaluation": self_evaluate(MouthModel.load(model_dir), prepared, no_progress)}
                if set(renders) == set(audios):
                    row.update(bench.compare_renders(test_frames, work / "train.mp4", renders, audios, meta["text"], analyzer,
                                                     model_dir, np.load(work / "own.states.npy")))
                else:
                    comparison = bench.evaluate.MouthComparison(test_frames, analyzer)
                    row["own_audio"] = {"model": comparison.compare(renders["own"][: len(test_frames)]).as_dict()}
            rows[name][label] = row
        print(name, json.dumps(rows[name], indent=1))
    output.write_text(json.dumps({
        "machine": machine,
        "protocol": "as echolite_real.json (train on the first 80 %, render the last 20 %, full-frame dlib 68 landmarks), with the "
                    "network fitted and the renders drawn on the GPU; tracking, cropping and Whisper ran on this machine's CPU first "
                    "(prepare_seconds_on_this_cpu), because the GPU machine has no landmark model or Whisper weights",
        "recordings": rows}, indent=2, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "gpu", "evaluate"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("results", type=Path, nargs="*", help="gpu: where models and renders go; evaluate: what gpu wrote, "
                                                                  "one folder per gpu step")
    parser.add_argument("--epochs", type=int, default=240, help="the explicit epoch count fitted beside the default budget")
    parser.add_argument("--device", default="cuda:0")
    parser.add_argument("--crop", type=int, default=alignment.CROP,
                        help="side of the mouth crops in pixels, the same in all three steps (to measure what it changes)")
    parser.add_argument("--output", type=Path, default=RESULTS / "echolite_real_cuda.json")
    args = parser.parse_args()
    if args.step != "prepare" and not args.results:
        parser.error(f"{args.step} needs the RESULTS folder(s)")
    alignment.CROP = args.crop
    if args.step == "prepare":
        torch.set_num_threads(min(2, os.cpu_count() or 1))
        prepare_step(args.folder)
    elif args.step == "gpu":
        gpu_step(args.folder, args.results[0], args.epochs, args.device)
    else:
        evaluate_step(args.folder, args.results, args.output)


if __name__ == "__main__":
    main()
