"""The self-evaluation stored with every model: the held-out tail rendered as a user would render it.

The tail's own speech drives a normal render over the training frames (played as loop_path plans
it); the result and the plain loop of training frames are both compared with the real tail frames by `evaluate.MouthComparison`, on full frames
with their own landmarks.
"""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from engines.face_tracking import FaceAnalyzer
from engines.messages import Message, gettext_noop
from engines.progress import Progress, scaled
from engines.talking_head.echolite import evaluate, features, loop_path
from engines.talking_head.echolite.model import MouthModel
from engines.talking_head.echolite.prepare import FPS, Prepared, unjpeg

MIN_FRAMES = 10
# Frames are compared at most this large (the comparison's canonical face is 160 px wide): three
# 1080p tails of 250 frames, the real, the loop and the render, held 4.7 GB at once.
EVALUATION_SIDE = 720


def for_evaluation(frames: Iterable[np.ndarray]) -> list[np.ndarray]:
    """The frames, scaled down to at most EVALUATION_SIDE, one at a time as they come."""
    scaled_frames = []
    for frame in frames:
        height, width = frame.shape[:2]
        scale = EVALUATION_SIDE / max(height, width)
        if scale < 1:
            frame = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        scaled_frames.append(frame)
    return scaled_frames


def self_evaluate(model: MouthModel, prepared: Prepared, progress: Progress, analyzer: FaceAnalyzer | None = None) -> dict:
    start, count = prepared.holdout_start, prepared.frame_count - prepared.holdout_start
    if count < MIN_FRAMES:
        return {"holdout_frames": count}
    real = for_evaluation(unjpeg(data) for data in prepared.holdout_jpegs)
    # The tail's speech, with the recording's own delay undone, so render frame t stands for real frame t.
    shapes = model.mouth_shapes(prepared.windows[start:])
    indices = model.plan(shapes)
    loop = for_evaluation(model.backgrounds(loop_path.plain_loop(len(model.frames), count)))
    rendered = for_evaluation(model.drawn(indices, shapes, done=lambda share: progress("evaluate", 0.3 * share)))
    comparison = evaluate.MouthComparison(real, analyzer or FaceAnalyzer())
    model_figures = comparison.compare(rendered, scaled(progress, 0.3, 0.75))
    loop_figures = comparison.compare(loop, scaled(progress, 0.75, 1.0))
    beats, verdict = evaluate.verdict(model_figures, loop_figures)
    energy = features.frame_energy(prepared.audio, prepared.frame_count + 2 * evaluate.MAX_LAG + abs(prepared.delay.frames), FPS)
    aligned = energy[np.clip(np.arange(start, prepared.frame_count) + prepared.delay.frames, 0, len(energy) - 1)]
    seen = ~np.isnan(model_figures.opening) & ~np.isnan(comparison.real_opening)
    sync, sync_lag = evaluate.speech_correlation(model_figures.opening[seen], aligned[seen])
    real_sync, real_lag = evaluate.speech_correlation(comparison.real_opening[seen], aligned[seen])
    return {
        "holdout_frames": count,
        "evaluation": "held-out tail rendered over the training frames as renders play them, compared on full frames with dlib 68 landmarks",
        **model_figures.as_dict(),
        **loop_figures.as_dict("loop_"),
        "beats_loop": beats,
        "verdict": verdict,
        "sync_correlation": round(sync, 3),
        "sync_offset_frames": sync_lag,
        "real_sync_correlation": round(real_sync, 3),
        "real_sync_offset_frames": real_lag,
    }


def summary(metrics: dict) -> Message:
    """The self-evaluation in one line of the job's log."""
    if "verdict" not in metrics:
        return gettext_noop("self-evaluation skipped: {frames} held-out frames, fewer than {minimum}",
                            frames=metrics["holdout_frames"], minimum=MIN_FRAMES)
    return gettext_noop("self-evaluation on {frames} held-out frames: mouth SSIM {ssim:.3f} (loop {loop_ssim:.3f}), "
                        "PSNR {psnr:.1f} dB (loop {loop_psnr:.1f}); {verdict}",
                        frames=metrics["holdout_frames"], ssim=metrics["mouth_ssim"], loop_ssim=metrics["loop_mouth_ssim"],
                        psnr=metrics["mouth_psnr"], loop_psnr=metrics["loop_mouth_psnr"], verdict=metrics["verdict"])
