"""Speech recognition with openai-whisper from a local checkpoint file, and error rates against a script."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engines import media
from engines.progress import Progress, no_progress

SAMPLE_RATE = 16000  # whisper.audio.SAMPLE_RATE


@dataclass
class Transcript:
    text: str
    language: str
    segments: list[dict] = field(default_factory=list)


class Transcriber:
    """A whisper model loaded from a checkpoint file (e.g. small.pt); hubs are never contacted."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu"):
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise FileNotFoundError(f"whisper checkpoint not found: {checkpoint} (set ECHOFU_WHISPER_CHECKPOINT to a .pt file)")
        import whisper

        # A file path makes load_model read it directly instead of downloading a named model.
        self.model = whisper.load_model(str(checkpoint), device=device)
        self.device = device

    def transcribe(self, audio: str | Path | np.ndarray, language: str | None = None, progress: Progress = no_progress) -> Transcript:
        import whisper

        progress("transcribe", 0.0)
        samples = audio if isinstance(audio, np.ndarray) else media.load_audio(audio, SAMPLE_RATE)
        result = whisper.transcribe(
            self.model, samples.astype(np.float32), language=language, fp16=self.device.startswith("cuda"),
            temperature=0.0, condition_on_previous_text=False, verbose=None,
        )
        progress("transcribe", 1.0)
        segments = [{"start": round(segment["start"], 2), "end": round(segment["end"], 2), "text": segment["text"].strip()}
                    for segment in result["segments"]]
        return Transcript(result["text"].strip(), result.get("language") or language or "", segments)


def _units(text: str, unit: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    if unit == "char":
        return [character for character in text if not character.isspace()]
    return text.split()


def error_rate(reference: str, hypothesis: str, unit: str = "word") -> float:
    """Word (or character) error rate: edit distance over the reference length."""
    expected, got = _units(reference, unit), _units(hypothesis, unit)
    if not expected:
        return float(bool(got))
    previous = list(range(len(got) + 1))
    for row, token in enumerate(expected, start=1):
        current = [row] + [0] * len(got)
        for column, other in enumerate(got, start=1):
            current[column] = min(previous[column] + 1, current[column - 1] + 1, previous[column - 1] + (token != other))
        previous = current
    return previous[-1] / len(expected)
