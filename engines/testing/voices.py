"""Test speakers that espeak-ng's stock voices do not sound like: another voice, re-shaped with WORLD."""
from __future__ import annotations

import numpy as np
import pyworld

from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE, warp_envelope, world_analysis
from engines.voice.default import espeak


def other_speaker(text: str, pitch_factor: float = 1.7, formant_factor: float = 1.12, voice: str = "m1") -> np.ndarray:
    """16 kHz speech of `text`: espeak's `voice` with its pitch and formants moved (another 'person')."""
    samples = espeak(text, "en", voice)
    f0, envelope, aperiodicity = world_analysis(samples)
    # A livelier intonation than espeak's, so the pitch range differs too.
    f0 = f0 * pitch_factor * (1 + 0.08 * np.sin(np.arange(len(f0)) * FRAME_PERIOD_MS / 1000 * 2 * np.pi * 1.5))
    shaped = pyworld.synthesize(f0, np.ascontiguousarray(warp_envelope(envelope, formant_factor)),
                                np.ascontiguousarray(aperiodicity), SAMPLE_RATE, FRAME_PERIOD_MS)
    return (0.3 * shaped / (np.abs(shaped).max() + 1e-9)).astype(np.float32)
