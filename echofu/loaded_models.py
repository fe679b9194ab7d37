"""Models a worker process keeps loaded between jobs: Whisper, its encoder, the chat LLM, talking-head models.

Loading them takes seconds, a chat turn uses them once per sentence, and a worker answers turn
after turn. Each is loaded on first use and kept in a small cache (least recently used goes
first), keyed by what it was loaded from; an entry whose files changed since (a model trained
again into the same folder, weights reassembled) is loaded anew. The engines stay free of this
state: they take the loaded objects as arguments.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from django.conf import settings

from engines import packaged_whisper
from engines.asr import FasterWhisperTranscriber, load_transcriber

Loaded = TypeVar("Loaded")


def files_version(sources: Iterable[Path]) -> tuple:
    """What changes when a file in these folders (or these files) is written, added, removed or replaced."""
    version = []
    for source in sources:
        source = Path(source)
        try:
            stat = source.stat()
        except FileNotFoundError:
            version.append((str(source), None))
            continue
        version.append((str(source), stat.st_mtime_ns, stat.st_size))
        if source.is_dir():
            with os.scandir(source) as entries:
                version.extend(sorted((entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
                                      for entry in entries if entry.is_file()))
    return tuple(version)


class LoadedModels:
    """At most `capacity` loaded models, each kept while the files it was loaded from stay the same."""

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self._entries: OrderedDict[tuple, tuple[tuple, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, sources: Iterable[Path], load: Callable[[], Loaded]) -> Loaded:
        sources = list(sources)
        # One lock for lookups and loads: a second caller of the same model waits for the first's load.
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == files_version(sources):
                self._entries.move_to_end(key)
                return entry[1]
            self._entries.pop(key, None)  # a stale model goes before its successor loads
            loaded = load()
            self._entries[key] = (files_version(sources), loaded)  # after loading: the load may build the files
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
            return loaded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_models = LoadedModels(settings.ECHOFU["LOADED_MODELS"])


def cached(key: tuple, sources: Iterable[Path], load: Callable[[], Loaded]) -> Loaded:
    """`load()`, kept in this worker's cache under `key` while the files in `sources` stay unchanged."""
    return _models.get(key, sources, load)


def packaged_whisper_transcriber() -> FasterWhisperTranscriber | None:
    """faster-whisper on the packaged Whisper base (CPU, int8); None when its packages are not installed."""
    if not packaged_whisper.available():
        return None
    cache_dir = settings.ECHOFU["MODEL_CACHE"]
    return _models.get(("whisper", "packaged", str(cache_dir)), [packaged_whisper.assembled_dir(cache_dir)],
                       lambda: load_transcriber("", cache_dir))


def transcriber():
    """The speech recognizer chat uses: openai-whisper on a configured checkpoint, else the packaged one."""
    checkpoint = settings.ECHOFU["WHISPER_CHECKPOINT"]
    if not checkpoint:
        return packaged_whisper_transcriber() or load_transcriber("", settings.ECHOFU["MODEL_CACHE"])  # raises why
    return _models.get(("whisper", "checkpoint", str(checkpoint)), [Path(checkpoint)], lambda: load_transcriber(checkpoint))


def speech_encoder():
    """Whisper's encoder (EchoLite's audio features, the default voice's speech states), sharing the packaged transcriber's weights."""
    from engines.speech_states import SpeechEncoder

    whisper = packaged_whisper_transcriber()
    cache_dir = settings.ECHOFU["MODEL_CACHE"]
    return _models.get(("whisper-encoder", str(cache_dir)), [packaged_whisper.assembled_dir(cache_dir)],
                       lambda: SpeechEncoder(whisper.model.model if whisper is not None else None))


def talking_head(engine, model_dir: Path, device: str):
    """`engine.load(model_dir, device)`, kept while the model folder stays unchanged."""
    return _models.get(("talking-head", engine.model_type, str(model_dir), device), [Path(model_dir)],
                       lambda: engine.load(Path(model_dir), device))


def clear() -> None:
    _models.clear()
