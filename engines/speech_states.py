"""Whisper's encoder over speech: states that carry what is said rather than who says it.

The encoder of the packaged offline Whisper (base, CTranslate2) was trained on many voices. EchoLite
reads the mouth from its states, so a mouth learned from one voice follows others; the default
voice matches a base voice's sounds to the speaker's recorded ones by them.
"""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path
from typing import Callable

import numpy as np

from engines import packaged_whisper
from engines.asr import encode_window

SAMPLE_RATE = 16000
STATES_PER_SECOND = 50
STATE_SIZE = 512
CHUNK_SECONDS = 30  # Whisper's fixed input length
CHUNK_STEP_SECONDS = 24  # chunks overlap by 6 s; each keeps its middle, away from the padded edges
# Audio shorter than Whisper's window (a chat sentence, most renders) is encoded in one window fitted
# to it, 2 s longer and at least 10 s, instead of 30 s: the encoder's cost falls with the window
# (10 s of speech: 0.3 s instead of 1.05 s on two cores). The states differ a little from the 30 s
# window's the model may have been trained on; the mouths drawn from them differ by 38-39 dB PSNR in
# the mouth crop for 10 s of real speech, 42.5 dB for 20 s and 38 dB for TTS sentences (the Obama
# model), against 25 dB between any render and the real frames.
WINDOW_MARGIN_SECONDS = 2
MIN_WINDOW_SECONDS = 10
FITTED_AUDIO_SECONDS = CHUNK_SECONDS - WINDOW_MARGIN_SECONDS
WHISPER_SIZE = "base"
CACHE_ENV = "ECHOFU_MODEL_CACHE"  # the same folder the Django settings use for packaged weights


def weights_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "echofu")


class SpeechEncoder:
    """Whisper's encoder over 16 kHz audio.

    Loading Whisper takes seconds: a caller that keeps one (a worker process, a training run)
    passes it in, and may hand over the CTranslate2 Whisper its transcriber already holds
    (faster-whisper's `WhisperModel.model`) so the weights are loaded once.
    """

    def __init__(self, whisper=None, threads: int = 0):
        if whisper is None:
            import ctranslate2

            directory = packaged_whisper.model_dir(weights_cache(), WHISPER_SIZE)
            whisper = ctranslate2.models.Whisper(str(directory), device="cpu", compute_type="int8",
                                                 intra_threads=threads or min(2, os.cpu_count() or 1))
        from faster_whisper.feature_extractor import FeatureExtractor

        self.whisper = whisper
        self.extractor = FeatureExtractor(feature_size=80)
        self._lock = threading.Lock()  # the extractor is not shared between threads
        self._silent_windows: dict[int, np.ndarray] = {}  # per window length (seconds)

    def states(self, audio: np.ndarray) -> np.ndarray:
        """(T, STATE_SIZE) float16 Whisper encoder states of 16 kHz mono audio, 50 per second."""
        def encode(start: int, seconds: int) -> np.ndarray:
            return np.asarray(encode_window(self.whisper, self.extractor, audio[start: start + seconds * SAMPLE_RATE], seconds))[0]

        with self._lock:
            return _windowed(len(audio), encode)

    def content_states(self, audio: np.ndarray) -> np.ndarray:
        """(T, STATE_SIZE) float32 states with what the encoder gives for silence in the same window taken away.

        Whisper's encoder adds absolute positions to its input, and its states keep them: matched by
        cosine, a base voice's state at 2 s found the reference's states near 2 s (median 7 states
        away, over 25 s of reference), whatever was said there. Silence in the same window carries the
        positions and little else; without it the match is made by what is said (median 354 states away).
        """
        return self.states(audio).astype(np.float32) - _windowed(len(audio), lambda _, seconds: self._silence(seconds)).astype(np.float32)

    def _silence(self, seconds: int) -> np.ndarray:
        """The states of a silent window of `seconds`, encoded once (every silent window of a length is alike)."""
        with self._lock:
            if seconds not in self._silent_windows:
                silence = encode_window(self.whisper, self.extractor, np.zeros(0, np.float32), seconds)
                self._silent_windows[seconds] = np.asarray(silence)[0]
            return self._silent_windows[seconds]


def _windowed(samples: int, encode: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """(T, STATE_SIZE) float16 states of audio of `samples` samples, from `encode(start sample, window seconds)`:
    one fitted window for audio that fits, else overlapping 30 s chunks, each keeping its middle."""
    total = max(1, int(np.ceil(samples / SAMPLE_RATE * STATES_PER_SECOND)))
    states = np.zeros((total, STATE_SIZE), np.float16)
    window = fitted_window(samples)
    if window:
        states[:] = encode(0, window)[:total]
        return states
    margin = (CHUNK_SECONDS - CHUNK_STEP_SECONDS) * STATES_PER_SECOND // 2
    step = CHUNK_STEP_SECONDS * SAMPLE_RATE
    start = 0
    while True:
        output = encode(start, CHUNK_SECONDS)
        first = start // SAMPLE_RATE * STATES_PER_SECOND
        keep_from = 0 if start == 0 else margin
        last = start + CHUNK_SECONDS * SAMPLE_RATE >= samples
        keep_to = len(output) if last else len(output) - margin
        span = states[first + keep_from: first + keep_to]
        span[:] = output[keep_from: keep_from + len(span)]
        if last:
            return states
        start += step


def fitted_window(samples: int) -> int:
    """The window (seconds) audio of this many samples is encoded in at once, or 0 when it is encoded in chunks."""
    if samples > FITTED_AUDIO_SECONDS * SAMPLE_RATE:
        return 0
    return max(MIN_WINDOW_SECONDS, math.ceil(samples / SAMPLE_RATE) + WINDOW_MARGIN_SECONDS)
