"""One interface for every text-to-speech engine, and the joining of chunks into one clip."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from engines import media
from engines.messages import gettext_noop
from engines.progress import Progress, no_progress
from engines.text import Chunk, speakable_chunks
from engines.voice.speaker import SpeakerFeatures

FADE_SECONDS = 0.01
SENTENCE_PAUSE = 0.25
CLAUSE_PAUSE = 0.08
# What the pages and messages call each engine (its id is for forms and settings): the studio's own
# voice by what it speaks with, the others by their published names.
SYNTHESIZER_LABELS = {
    "default": gettext_noop("Default (offline: Piper, Kokoro, espeak-ng + WORLD)"),
    "xtts": "XTTS-v2",
    "cosyvoice": "CosyVoice",
}
SYNTHESIZER_NAMES = tuple(SYNTHESIZER_LABELS)


@dataclass
class SynthesisResult:
    path: Path
    duration: float
    sample_rate: int
    engine: str
    timings: dict = field(default_factory=dict)


class Synthesizer(Protocol):
    name: str

    def availability(self) -> tuple[bool, str]: ...

    def synthesize(self, text: str, speaker: SpeakerFeatures | None, out_path: Path, pitch_semitones: float = 0.0, progress: Progress = no_progress) -> SynthesisResult: ...


def require_cloning_request(engine: str, speaker: SpeakerFeatures | None, pitch_semitones: float) -> None:
    """Engines that clone from the reference clip itself need one, and take no pitch shift."""
    if speaker is None or not speaker.clean_clip:
        raise ValueError(gettext_noop("{engine} clones from a reference clip: extract a speaker first", engine=engine))
    if pitch_semitones:
        raise ValueError(gettext_noop("{engine} does not take a pitch shift; leave pitch at 0 for this engine", engine=engine))


def faded(samples: np.ndarray, rate: int) -> np.ndarray:
    """Raised-cosine fade in and out, so joins never jump (no clicks)."""
    length = min(int(FADE_SECONDS * rate), len(samples) // 2)
    if length == 0:
        return samples
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, length))).astype(np.float32)
    out = samples.astype(np.float32).copy()
    out[:length] *= ramp
    out[-length:] *= ramp[::-1]
    return out


def speak_chunks(text: str, rate: int, speak: Callable[[Chunk], np.ndarray], progress: Progress) -> np.ndarray:
    """Speak `text` chunk by chunk (sentences, language runs) and join with short pauses."""
    pieces = speakable_chunks(text)
    parts: list[np.ndarray] = []
    for index, chunk in enumerate(pieces):
        parts.append(faded(speak(chunk), rate))
        pause = SENTENCE_PAUSE if chunk.sentence_end else CLAUSE_PAUSE
        if index < len(pieces) - 1:
            parts.append(np.zeros(int(pause * rate), dtype=np.float32))
        progress("synthesize", (index + 1) / len(pieces))
    return np.concatenate(parts)


def write_result(samples: np.ndarray, rate: int, out_path: Path, engine: str, started: float) -> SynthesisResult:
    """Write next to the target and rename, so a failed synthesis leaves nothing at `out_path`."""
    out_path = Path(out_path)
    partial = out_path.with_name(f".{out_path.name}.partial.wav")
    try:
        media.write_wav(partial, samples, rate)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return SynthesisResult(out_path, len(samples) / rate, rate, engine, {"total": time.monotonic() - started})


def create_synthesizer(name: str, **config: object) -> Synthesizer:
    if name == "default":
        from engines.voice.default import DefaultSynthesizer

        return DefaultSynthesizer(**config)
    if name == "xtts":
        from engines.voice.xtts import XttsSynthesizer

        return XttsSynthesizer(**config)
    if name == "cosyvoice":
        from engines.voice.cosyvoice import CosyVoiceSynthesizer

        return CosyVoiceSynthesizer(**config)
    raise ValueError(gettext_noop("unknown speech engine '{name}', choose one of: {choices}", name=name, choices=", ".join(SYNTHESIZER_NAMES)))
