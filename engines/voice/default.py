"""The offline default: espeak-ng speaks, WORLD converts the voice toward the speaker.

A speaker cloned with a fitted conversion (`engines.voice.fitted`) is spoken at their rate with
their own spectra; an older profile without one gets the statistics-only conversion.
"""
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
from engines.voice.fitted import CONVERSION_VERSION, FittedVoice, Segment, apply_voice, fit_voice
from engines.voice.speaker import SpeakerFeatures
from engines.voice.synthesis import SynthesisResult, speak_chunks, write_result

ESPEAK_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
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


def base_language(language: str) -> str | None:
    """The base voice's language for a whisper language code, or None when it has none."""
    return language if language in ESPEAK_VOICES else None


class DefaultSynthesizer:
    name = "default"

    def __init__(self, words_per_minute: int = 165):
        self.words_per_minute = words_per_minute
        self._fitted: dict[str, FittedVoice] = {}  # by file: profiles are immutable versions

    def fit(self, speaker: SpeakerFeatures, reference: np.ndarray, language: str, segments: list[Segment],
            out_path: Path, progress: Progress = no_progress) -> dict:
        """Fit this speaker's conversion from their cleaned reference and its transcript; store it at `out_path`.

        Returns what the profile keeps (`SpeakerFeatures.conversion`).
        """
        started = time.monotonic()
        variant = voice_variant(speaker)
        spoken = base_language(language)
        speak = (lambda text: espeak(text, spoken, variant, self.words_per_minute)) if spoken else None
        voice = fit_voice(reference, segments, speak, progress)
        voice.save(out_path)
        return voice.summary(out_path, time.monotonic() - started)

    def fitted_voice(self, speaker: SpeakerFeatures) -> FittedVoice | None:
        """The speaker's fitted conversion, or None for profiles made before it (or of another version)."""
        summary = speaker.conversion
        if not summary or summary.get("version") != CONVERSION_VERSION or not Path(summary.get("file", "")).is_file():
            return None
        if summary["file"] not in self._fitted:
            self._fitted[summary["file"]] = FittedVoice.load(summary)
        return self._fitted[summary["file"]]

    def availability(self) -> tuple[bool, str]:
        if shutil.which("espeak-ng") is None:
            return False, "espeak-ng is not installed (Debian package espeak-ng)"
        return True, "offline: espeak-ng + WORLD voice conversion fitted to the speaker"

    def synthesize(self, text: str, speaker: SpeakerFeatures | None, out_path: Path, pitch_semitones: float = 0.0, progress: Progress = no_progress) -> SynthesisResult:
        started = time.monotonic()
        variant = voice_variant(speaker)
        voice = self.fitted_voice(speaker) if speaker is not None else None
        words_per_minute = round(self.words_per_minute / voice.rate) if voice else self.words_per_minute

        def speak(chunk: Chunk) -> np.ndarray:
            samples = espeak(chunk.text, chunk.language, variant, words_per_minute)
            if voice is not None:
                return apply_voice(samples, voice, speaker.f0_mean, speaker.f0_std_semitones, pitch_semitones)
            if speaker is not None:
                return convert(samples, speaker, pitch_semitones)
            return shift_pitch(samples, pitch_semitones)

        samples = speak_chunks(text, SAMPLE_RATE, speak, progress)
        return write_result(samples, SAMPLE_RATE, out_path, self.name, started)
