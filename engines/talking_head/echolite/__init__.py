"""EchoLite: the embedded talking-head model, trained per person on a plain CPU in minutes.

Pipeline: track the face (dlib landmarks) -> find and undo the audio's delay against the lips ->
pose-normalised lower-face crops -> a ridge regression maps Whisper encoder states of the speech
to mouth landmarks, and a small U-Net learns to paint a drawn mouth shape (surroundings from another
frame, the closed mouth and the real training mouth nearest in shape as references) -> renders play the person's own
clip forwards and backwards, turning where its own mouths come near the predicted ones (loop_path), and blend the
predicted mouth (mostly painted, partly the frame's own mouth warped onto it) back in with colour matching.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from engines.devices import choose_device
from engines.face_tracking import FaceAnalyzer, mouth_opening
from engines.messages import gettext_noop
from engines.progress import Progress, no_progress, scaled
from engines.provenance import LabelText
from engines.talking_head.base import QualityReport, RenderResult, TrainParams, TrainResult
from engines.talking_head.echolite import loop_path, model as model_files
from engines.talking_head.echolite.holdout import self_evaluate, summary
from engines.talking_head.echolite.model import MouthModel, normalise
from engines.talking_head.echolite.exemplars import MouthExemplars
from engines.speech_states import SpeechEncoder
from engines.talking_head.echolite.mouth_shape import MouthShapePredictor, crop_space_mouths
from engines.talking_head.echolite.prepare import FPS, Prepared, prepare
from engines.talking_head.echolite.quality import check_video
from engines.talking_head.echolite.render import render
from engines.talking_head.echolite.train import (DEFAULT_BATCH, DEFAULT_LR, DEFAULT_TRAIN_SECONDS, EVALUATED_AT, TrainingData,
                                                 estimate_seconds, evaluation_seconds, fit, progress_plan, to_tensor)

MODEL_TYPE = "EchoLite"
# Where in the sorted lip openings of the training frames the reference mouths are taken.
CLOSED_MOUTH_OPENING = 0.1


def pick_device(requested: str) -> tuple[str, str]:
    """(device, warning): the shared device rule applied to the GPUs torch sees."""
    return choose_device(requested, torch.cuda.device_count() if torch.cuda.is_available() else 0)


def closed_mouth(crops: np.ndarray, tracks: np.ndarray, found: np.ndarray) -> np.ndarray:
    """(CROP, CROP, 3): a closed real mouth of the training frames (the person's lips at rest)."""
    openings = np.array([mouth_opening(points) if seen else np.nan for points, seen in zip(tracks, found)])
    order = np.argsort(np.where(np.isnan(openings), np.nanmedian(openings), openings))
    return crops[order[int(CLOSED_MOUTH_OPENING * (len(order) - 1))]]


def fit_mouth_shape(windows: np.ndarray, shapes: np.ndarray) -> tuple[MouthShapePredictor, np.ndarray, np.ndarray]:
    """The speech -> mouth-shape regression on (N, STATE_SIZE, CONTEXT) windows and (N, 20, 2) crop-space
    shapes, with the per-channel mean and spread its windows are normalised by."""
    audio_mean = windows.mean(axis=(0, 2), dtype=np.float32)
    audio_std = windows.std(axis=(0, 2), dtype=np.float32) + 1e-3
    return MouthShapePredictor.fit(normalise(windows, audio_mean, audio_std), shapes), audio_mean, audio_std


def fit_model(prepared: Prepared, model_dir: Path, params: TrainParams, device: str, progress: Progress, seconds: float) -> dict:
    """Fit the mouth-shape regression and the painter on the frames before the held-out tail and save
    the model in `model_dir`; without an epoch count the painter gets `seconds`. Returns what it fitted.
    `progress`: this step's own, 0 to 1."""
    train_until = prepared.holdout_start
    shapes = crop_space_mouths(prepared.tracks, prepared.transforms)
    progress("train", 0.0, gettext_noop("fitting speech -> mouth shape"))
    shape_model, audio_mean, audio_std = fit_mouth_shape(prepared.windows[:train_until], shapes[:train_until])
    closed = closed_mouth(prepared.crops[:train_until], prepared.tracks[:train_until], prepared.found[:train_until])
    exemplars = MouthExemplars.choose(prepared.crops[:train_until], shapes[:train_until])
    config = {
        "width": prepared.width,
        "height": prepared.height,
        "fps": FPS,
        "template": prepared.template.to_dict(),
        "audio_mean": audio_mean.tolist(),
        "audio_std": audio_std.tolist(),
        **prepared.delay.as_dict(),
        "background_frames": prepared.background_frames,
    }
    hard_mask, _ = prepared.template.mouth_mask()
    data = TrainingData(
        crops=to_tensor(prepared.crops[:train_until]),
        shapes=shapes[:train_until],
        closed_mouth=to_tensor(closed[None])[0],
        exemplars=to_tensor(exemplars.crops),
        nearest=torch.from_numpy(exemplars.nearest(shapes[:train_until], np.arange(train_until))),
        hard_mask=torch.from_numpy(hard_mask)[None],
    )
    lr = params.lr or DEFAULT_LR
    batch_size = params.batch_size or DEFAULT_BATCH
    progress("train", 0.0, gettext_noop("training on {frames} frames, {epochs} epochs, lr {lr}, batch {batch}, {device}",
                                         frames=train_until, epochs=params.epochs or gettext_noop("default"), lr=lr, batch=batch_size, device=device))
    network, losses = fit(data, params.epochs, lr, batch_size, device, progress, seconds=seconds)
    final_loss = round(losses[-1], 5)
    config["training"] = {"epochs": len(losses), "lr": lr, "batch_size": batch_size, "device": device,
                          "frames": train_until, "final_loss": final_loss, "extra": params.extra}
    config["source"] = {"duration": round(prepared.frame_count / FPS, 2), "frames": prepared.frame_count,
                        "face_found_share": round(float(prepared.found.mean()), 3)}
    played = slice(0, prepared.background_frames)
    background = model_files.Background(prepared.transforms[played], shapes[played], loop_path.head_motion(prepared.tracks[played]))
    model_files.save(model_dir, network.cpu(), shape_model, exemplars, config, closed, background)
    return {"epochs": len(losses), "final_loss": final_loss, "shape_validation_r": round(shape_model.validation_r, 3),
            "shape_gain": round(shape_model.gain, 2)}


class EchoLiteEngine:
    model_type = MODEL_TYPE
    custom_param_names = ("lr", "batch_size")

    def availability(self) -> tuple[bool, str]:
        return True, gettext_noop("embedded model, runs on CPU or CUDA")

    def check_video(self, video_path: Path, analyzer: FaceAnalyzer | None = None) -> QualityReport:
        return check_video(Path(video_path), analyzer=analyzer)

    def estimate_training_seconds(self, duration: float, epochs: int | None, device: str = "cpu") -> float:
        """Expected training time for a video of `duration` seconds (shown before the job starts)."""
        return estimate_seconds(int(duration * FPS), epochs, device)

    def is_model_dir(self, path: Path) -> bool:
        return model_files.is_model_dir(Path(path))

    def train(self, video_path: Path, workdir: Path, params: TrainParams, progress: Progress = no_progress) -> TrainResult:
        started = time.monotonic()
        progress("check", 0.0, gettext_noop("checking the input video"))
        analyzer = FaceAnalyzer()  # one for the check, the tracking and the self-evaluation: loading it takes a second
        report = check_video(Path(video_path), measure_delay=False, analyzer=analyzer)  # training measures the delay on every frame
        if not report.ok:
            raise ValueError(gettext_noop("the video cannot be used for training: {reasons}", reasons=report.errors))
        device, warning = pick_device(params.device)
        warnings = list(report.warnings) + ([warning] if warning else [])
        if warning:
            progress("check", 0.0, warning)
        model_dir = Path(workdir) / "model"
        model_dir.mkdir(parents=True, exist_ok=True)

        checked, prepared_at, fitted = progress_plan(int(report.stats["duration"] * FPS), params.epochs, device)
        progress("check", checked)
        prepared = prepare(Path(video_path), model_dir, scaled(progress, checked, prepared_at), analyzer)
        if not prepared.delay.found:
            warnings.append(prepared.delay.warning())  # prepare logged it with its last progress report
        # Without an epoch count, fitting gets what the default time leaves after preparing and evaluating.
        seconds = DEFAULT_TRAIN_SECONDS - (time.monotonic() - started) - evaluation_seconds(prepared.frame_count - prepared.holdout_start)
        training = fit_model(prepared, model_dir, params, device, scaled(progress, prepared_at, fitted), seconds)

        loaded = MouthModel.load(model_dir, device)
        metrics = self_evaluate(loaded, prepared, scaled(progress, fitted, EVALUATED_AT), analyzer)
        metrics.update(train_seconds=round(time.monotonic() - started, 1), train_frames=prepared.holdout_start,
                       epochs=training["epochs"], final_loss=training["final_loss"], device=device, **prepared.delay.as_dict(),
                       shape_validation_r=training["shape_validation_r"], shape_gain=training["shape_gain"])
        if metrics.get("beats_loop") is False:
            warnings.append(metrics["verdict"])
        (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (model_dir / "quality.json").write_text(json.dumps({"warnings": warnings, "stats": report.stats}, indent=2))
        progress("package", 1.0, summary(metrics))
        return TrainResult(model_dir=model_dir, metrics=metrics, warnings=warnings)

    def render(self, model_dir: Path, audio_path: Path, out_path: Path, progress: Progress = no_progress, device: str = "cpu") -> RenderResult:
        device, warning = pick_device(device)
        if warning:
            progress("load", 0.0, warning)
        return self.render_loaded(self.load(model_dir, device), audio_path, out_path, progress)

    def load(self, model_dir: Path, device: str = "cpu") -> MouthModel:
        """The model ready to render, for a caller that renders with it more than once (see render_loaded)."""
        return MouthModel.load(Path(model_dir), pick_device(device)[0])

    def render_loaded(self, model: MouthModel, audio_path: Path, out_path: Path, progress: Progress = no_progress,
                      encoder: SpeechEncoder | None = None, label: LabelText | None = None) -> RenderResult:
        """Render with a model from `load`, and Whisper's encoder when the caller keeps one loaded;
        `label`: with the "AI generated" label (that text, in that font) drawn on the frames."""
        return render(model, Path(audio_path), Path(out_path), progress, encoder, label)
