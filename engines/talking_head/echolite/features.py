"""Audio features aligned to video frames: Whisper encoder states around each frame, and loudness.

The encoder of the packaged offline Whisper (base, CTranslate2) was trained on many voices to
carry what is said rather than who says it, so a mouth learned from one person's voice follows
a cloned voice or another speaker too. It gives 50 states a second (two per 25 fps frame).
"""
from __future__ import annotations

import math
import os
import threading
from pathlib import Path

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
# Encoder states per frame window: 0.48 s of speech, centred a little after the frame because the
# encoder's states trail the sound they describe (measured: best linear fit to lip opening at +2..+3 frames).
CONTEXT = 24
CONTEXT_DELAY_STATES = 4
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

    def states(self, audio: np.ndarray) -> np.ndarray:
        """(T, STATE_SIZE) float16 Whisper encoder states of 16 kHz mono audio, 50 per second."""
        chunk, step = CHUNK_SECONDS * SAMPLE_RATE, CHUNK_STEP_SECONDS * SAMPLE_RATE
        total = max(1, int(np.ceil(len(audio) / SAMPLE_RATE * STATES_PER_SECOND)))
        states = np.zeros((total, STATE_SIZE), np.float16)
        if len(audio) <= FITTED_AUDIO_SECONDS * SAMPLE_RATE:
            window = max(MIN_WINDOW_SECONDS, math.ceil(len(audio) / SAMPLE_RATE) + WINDOW_MARGIN_SECONDS)
            with self._lock:
                states[:] = np.asarray(encode_window(self.whisper, self.extractor, audio, window))[0][:total]
            return states
        margin = (CHUNK_SECONDS - CHUNK_STEP_SECONDS) * STATES_PER_SECOND // 2
        start = 0
        with self._lock:
            while True:
                output = np.asarray(encode_window(self.whisper, self.extractor, audio[start: start + chunk], CHUNK_SECONDS))[0]
                first = start // SAMPLE_RATE * STATES_PER_SECOND
                keep_from = 0 if start == 0 else margin
                last = start + chunk >= len(audio)
                keep_to = len(output) if last else len(output) - margin
                span = states[first + keep_from: first + keep_to]
                span[:] = output[keep_from: keep_from + len(span)]
                if last:
                    break
                start += step
        return states


def encoder_states(audio: np.ndarray, encoder: SpeechEncoder | None = None) -> np.ndarray:
    """Whisper encoder states of `audio` (see SpeechEncoder.states), loading Whisper when no encoder is given."""
    return (encoder or SpeechEncoder()).states(audio)


def frame_windows(states: np.ndarray, frame_count: int, fps: float, offset_frames: int = 0) -> np.ndarray:
    """(frame_count, STATE_SIZE, CONTEXT) float16 windows; frame i reads the sound of frame i + offset_frames."""
    per_frame = STATES_PER_SECOND / fps
    centres = np.round((np.arange(frame_count) + offset_frames + 0.5) * per_frame).astype(int) + CONTEXT_DELAY_STATES
    index = np.clip(centres[:, None] + np.arange(-CONTEXT // 2, CONTEXT // 2)[None], 0, len(states) - 1)
    return np.ascontiguousarray(states[index].transpose(0, 2, 1))


def frame_energy(audio: np.ndarray, frame_count: int, fps: float) -> np.ndarray:
    """Loudness (dB) of the audio under each video frame, for the sync measurements."""
    hop = SAMPLE_RATE / fps
    energy = np.empty(frame_count, dtype=np.float32)
    for index in range(frame_count):
        chunk = audio[int(index * hop): int((index + 1) * hop)]
        energy[index] = 10 * np.log10(np.mean(chunk**2) + 1e-10) if len(chunk) else -100.0
    return energy
