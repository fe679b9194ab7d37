"""The offline default: espeak-ng speaks, WORLD converts the voice toward the speaker."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from engines import media
from engines.progress import Progress, no_progress
from engines.text import Chunk
from engines.voice.analysis import SAMPLE_RATE
from engines.voice.conversion import convert, shift_pitch
from engines.voice.speaker import SpeakerFeatures
from engines.voice.synthesis import SynthesisResult, speak_chunks, write_result

ESPEAK_VOICES = {"zh": "cmn", "en": "en-us"}
FEMALE_F0 = 165.0
SPEECH_TIMEOUT = 60


def voice_variant(speaker: SpeakerFeatures | None) -> str:
    """espeak-ng's variant closest to the speaker: the least conversion, the fewest artefacts."""
    return "f3" if speaker is not None and speaker.f0_mean > FEMALE_F0 else "m3"


def espeak(text: str, language: str, variant: str, words_per_minute: int = 165) -> np.ndarray:
    """16 kHz samples of espeak-ng speaking `text` (given on stdin, so no text is read as an option)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        voice = f"{ESPEAK_VOICES[language]}+{variant}"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(wav), "--stdin"],
            input=text.encode("utf-8"), check=True, timeout=SPEECH_TIMEOUT, capture_output=True,
        )
        return media.load_audio(wav, SAMPLE_RATE)


class DefaultSynthesizer:
    name = "default"

    def __init__(self, words_per_minute: int = 165):
        self.words_per_minute = words_per_minute

    def availability(self) -> tuple[bool, str]:
        if shutil.which("espeak-ng") is None:
            return False, "espeak-ng is not installed (Debian package espeak-ng)"
        return True, "offline: espeak-ng + WORLD voice conversion"

    def synthesize(self, text: str, speaker: SpeakerFeatures | None, out_path: Path, pitch_semitones: float = 0.0, progress: Progress = no_progress) -> SynthesisResult:
        started = time.monotonic()
        variant = voice_variant(speaker)

        def speak(chunk: Chunk) -> np.ndarray:
            samples = espeak(chunk.text, chunk.language, variant, self.words_per_minute)
            if speaker is not None:
                return convert(samples, speaker, pitch_semitones)
            return shift_pitch(samples, pitch_semitones)

        samples = speak_chunks(text, SAMPLE_RATE, speak, progress)
        return write_result(samples, SAMPLE_RATE, out_path, self.name, started)
