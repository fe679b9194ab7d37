"""Speech recognition, offline: faster-whisper on the packaged Whisper (the default), or openai-whisper
on a configured .pt checkpoint; and error rates against a script."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engines import media
from engines.messages import UnusableInput, gettext_noop
from engines.progress import Progress, no_progress

if TYPE_CHECKING:
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

SAMPLE_RATE = 16000  # whisper.audio.SAMPLE_RATE


@dataclass
class Transcript:
    text: str
    language: str
    segments: list[dict] = field(default_factory=list)


class NoSpeech(UnusableInput):
    """The recording holds silence or noise only: nothing to answer."""


class Transcriber:
    """An openai-whisper model loaded from a checkpoint file (e.g. small.pt); hubs are never contacted."""

    def __init__(self, checkpoint: str | Path, device: str = "cpu"):
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise FileNotFoundError(gettext_noop("Whisper checkpoint not found: {checkpoint} (set {setting} to a .pt file)",
                                                 checkpoint=str(checkpoint), setting="ECHOFU_WHISPER_CHECKPOINT"))
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
        detected = result.get("language") or language or ""
        # Whisper's own text is its segments' raw tokens run together, spaced as the model happened to
        # emit them: joined here from the segments, the text always reads as they do.
        return Transcript(_join([segment["text"] for segment in segments], detected), detected, segments)


VAD_PARAMETERS = {"min_silence_duration_ms": 500}
LANGUAGE_WINDOW_SECONDS = 10

# Segments Whisper itself thinks are not speech (its no-speech token wins and the text is unlikely).
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0


class FasterWhisperTranscriber:
    """Whisper converted for CTranslate2 (e.g. engines.packaged_whisper.model_dir), int8 on the CPU.

    The language is detected when not given. Silero voice activity detection (its ONNX model ships
    inside faster-whisper) drops silence and noise first, so a recording with no speech gives
    NoSpeech instead of the words Whisper invents for noise.
    """

    def __init__(self, model_dir: str | Path, device: str = "cpu", compute_type: str = "int8", threads: int = 0):
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file():
            raise FileNotFoundError(gettext_noop("no CTranslate2 Whisper model in {folder}", folder=str(model_dir)))
        from faster_whisper import WhisperModel

        self.model = WhisperModel(str(model_dir), device="cuda" if device.startswith("cuda") else "cpu",
                                  compute_type=compute_type, cpu_threads=threads, local_files_only=True)

    def transcribe(self, audio: str | Path | np.ndarray, language: str | None = None, progress: Progress = no_progress) -> Transcript:
        progress("transcribe", 0.0)
        samples = (audio if isinstance(audio, np.ndarray) else media.load_audio(audio, SAMPLE_RATE)).astype(np.float32)
        if language is None and self.model.model.is_multilingual:
            language = self.detect_language(samples)
        pieces, info = self.model.transcribe(
            samples, language=language, beam_size=1, temperature=0.0,
            condition_on_previous_text=False, vad_filter=True, vad_parameters=VAD_PARAMETERS,
        )
        segments = []
        for piece in pieces:
            if piece.no_speech_prob > NO_SPEECH_PROBABILITY and piece.avg_logprob < LOW_LOG_PROBABILITY:
                continue
            segments.append({"start": round(piece.start, 2), "end": round(piece.end, 2), "text": piece.text.strip()})
            progress("transcribe", min(piece.end / max(info.duration, 1e-3), 1.0))
        if info.language == "zh":
            # Whisper often writes Mandarin in traditional characters; the rest of the system speaks simplified.
            import zhconv

            for segment in segments:
                segment["text"] = zhconv.convert(segment["text"], "zh-cn")
        text = _join([segment["text"] for segment in segments], info.language)
        if not text:
            raise NoSpeech(gettext_noop("no speech was found in the recording (silence or noise only)"))
        progress("transcribe", 1.0)
        return Transcript(text, info.language, segments)

    def detect_language(self, samples: np.ndarray) -> str | None:
        """The language of the first speech, from one short encoder window.

        Left to itself, faster-whisper encodes a 30 s window to detect the language and the same
        window again to transcribe; a 10 s window detects as well and costs a sixth (0.2 s vs 1.2 s
        on two cores). None when no speech is found: transcription then decides.
        """
        from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

        speech = get_speech_timestamps(samples, VadOptions(**VAD_PARAMETERS))
        if not speech:
            return None
        chunks, _ = collect_chunks(samples, speech)
        encoded = encode_window(self.model.model, self.model.feature_extractor, np.concatenate(chunks), LANGUAGE_WINDOW_SECONDS)
        return self.model.model.detect_language(encoded)[0][0][0][2:-2]


def encode_window(whisper: "ctranslate2.models.Whisper", extractor: "FeatureExtractor", audio: np.ndarray,
                  seconds: int) -> "ctranslate2.StorageView":
    """Whisper's encoder (a CTranslate2 Whisper) over the start of `audio`, zero-padded to a window of
    `seconds`. Whisper's own window is 30 s; CTranslate2 takes shorter ones, at a cost that falls
    with their length."""
    import ctranslate2

    window = seconds * SAMPLE_RATE
    piece = np.asarray(audio[:window], np.float32)
    mel = extractor(np.pad(piece, (0, window - len(piece))), padding=0)[:, : seconds * 100]
    return whisper.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32)))


def _join(texts: list[str], language: str) -> str:
    separator = "" if language in ("zh", "ja") else " "
    return separator.join(text for text in texts if text).strip()


def load_transcriber(checkpoint: str | Path = "", cache_dir: str | Path = "", size: str = "base", device: str = "cpu") -> Transcriber | FasterWhisperTranscriber:
    """openai-whisper when a .pt checkpoint is configured, else faster-whisper on the packaged weights."""
    if checkpoint:
        return Transcriber(checkpoint, device)
    from engines.packaged_whisper import model_dir

    return FasterWhisperTranscriber(model_dir(cache_dir, size), device)

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
