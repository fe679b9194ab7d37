"""Rendering new speech with a trained model: loop the person's clip, redraw the mouth, mux the audio."""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

from engines import media
from engines.progress import Progress
from engines.talking_head.base import RenderResult
from engines.talking_head.echolite import features
from engines.talking_head.echolite.model import MouthModel
from engines.talking_head.echolite.prepare import FPS

BATCH = 16


def render(model: MouthModel, audio_path: Path, out_path: Path, progress: Progress, encoder: features.SpeechEncoder | None = None) -> RenderResult:
    started = time.monotonic()
    audio = media.load_audio(audio_path, features.SAMPLE_RATE)
    if len(audio) < features.SAMPLE_RATE // 10:
        raise ValueError("the audio is shorter than 0.1 s")
    count = math.ceil(len(audio) / features.SAMPLE_RATE * FPS)
    windows = features.frame_windows(features.encoder_states(audio, encoder), count, FPS)
    timings = {"features": time.monotonic() - started}
    width, height = model.config["width"], model.config["height"]
    partial = out_path.with_name(f".{out_path.name}.partial.mp4")
    drawing = time.monotonic()
    previous = None
    written = 0
    try:
        with media.VideoWriter(partial, width, height, fps=FPS, audio=audio, audio_rate=features.SAMPLE_RATE,
                           comment=media.AI_GENERATED) as writer:
            frames, matrices = [], []
            for frame, matrix in model.backgrounds(count):
                frames.append(frame)
                matrices.append(matrix)
                if len(frames) == BATCH or written + len(frames) == count:
                    window = windows[written: written + len(frames)]
                    frames, previous = model.compose(frames, matrices, window, previous)
                    for drawn in frames:
                        writer.write(drawn)
                    written += len(frames)
                    frames, matrices = [], []
                    progress("render", written / count)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    timings["render"] = time.monotonic() - drawing
    return RenderResult(out_path, written, float(FPS), width, height, len(audio) / features.SAMPLE_RATE, timings)
