"""Rendering new speech with a trained model: play the person's clip back and forth (loop_path), redraw the mouth, mux the audio."""
from __future__ import annotations

import math
import os
import time
from contextlib import closing
from pathlib import Path

from threadpoolctl import threadpool_limits

from engines import media
from engines.messages import gettext_noop
from engines.progress import Progress
from engines.provenance import Label, LabelText
from engines.talking_head.base import RenderResult
from engines.talking_head.echolite import features
from engines.talking_head.echolite.model import MouthModel
from engines.talking_head.echolite.prepare import FPS

BATCH = 16
# x264 'superfast' encodes twice as fast as 'veryfast' at the same CRF and the same fidelity to the
# drawn frames (measured: PSNR 41.9 vs 41.6 dB on a 10 s render), in files about twice the size.
ENCODER_PRESET = "superfast"

SHORTEST_AUDIO_SECONDS = 0.1  # under it, less than three frames of a video


def render(model: MouthModel, audio_path: Path, out_path: Path, progress: Progress, encoder: features.SpeechEncoder | None = None,
           label: LabelText | None = None) -> RenderResult:
    """`label`: draw the "AI generated" label (that text, in that font) on the frames here, so publishing need not decode and encode them again."""
    started = time.monotonic()
    audio = media.load_declared_audio(audio_path, features.SAMPLE_RATE)
    if len(audio) < features.SAMPLE_RATE * SHORTEST_AUDIO_SECONDS:
        raise ValueError(gettext_noop("the audio is shorter than {seconds} s", seconds=SHORTEST_AUDIO_SECONDS))
    count = math.ceil(len(audio) / features.SAMPLE_RATE * FPS)
    windows = features.frame_windows(features.encoder_states(audio, encoder), count, FPS)
    shapes = model.mouth_shapes(windows)
    indices = model.plan(shapes)
    timings = {"features": time.monotonic() - started}
    width, height = model.config["width"], model.config["height"]
    partial = out_path.with_name(f".{out_path.name}.partial.mp4")
    drawing = time.monotonic()
    spent = {"background": 0.0, "mouths": 0.0, "encode": 0.0}
    previous = None
    written = 0
    try:
        # numpy's BLAS does only the mouth warps' small solves and products here; left multi-threaded,
        # its threads spin against torch's (they made the whole render 1.8x slower on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"), closing(model.backgrounds(indices)) as backgrounds, \
                media.VideoWriter(partial, width, height, fps=FPS, audio=audio, audio_rate=features.SAMPLE_RATE,
                                  preset=ENCODER_PRESET, comment=media.AI_GENERATED) as writer, \
                media.EncodingThread(writer, Label(width, height, label).draw if label else None) as encoder:
            frames = []
            clock = time.monotonic()
            for frame in backgrounds:
                frames.append(frame)
                if len(frames) == BATCH or written + len(frames) == count:
                    clock = _lap(spent, "background", clock)
                    batch = slice(written, written + len(frames))
                    frames, previous = model.draw(frames, indices[batch], shapes[batch], previous)
                    clock = _lap(spent, "mouths", clock)
                    for drawn in frames:
                        encoder.put(drawn)
                    written += len(frames)
                    frames = []
                    progress("render", written / count)
                    clock = _lap(spent, "encode", clock)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    timings["render"] = time.monotonic() - drawing
    timings.update(spent)  # render = background decoding + mouths + waiting for the encoder (+ its last frames, closing)
    return RenderResult(out_path, written, float(FPS), width, height, len(audio) / features.SAMPLE_RATE, timings, label is not None)


def _lap(spent: dict[str, float], stage: str, since: float) -> float:
    now = time.monotonic()
    spent[stage] += now - since
    return now
