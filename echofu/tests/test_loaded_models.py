"""Models stay loaded in a worker between jobs, are shared where they are the same weights, and reload when their files change."""
import os

import numpy as np
import pytest

from assets.speech import reference_transcriber
from echofu import loaded_models
from echofu.loaded_models import LoadedModels
from engines import packaged_whisper
from engines.speech_states import SpeechEncoder


def counting(loads: list, name: str):
    def load():
        loads.append(name)
        return object()
    return load


def test_a_model_is_loaded_once_and_again_when_its_folder_changes(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"one")
    cache, loads = LoadedModels(capacity=2), []
    first = cache.get(("m",), [folder], counting(loads, "m"))
    assert cache.get(("m",), [folder], counting(loads, "m")) is first and loads == ["m"]

    # Trained again into the same folder: a file replaced (same size, new mtime), then a file added.
    os.utime(folder / "weights.pt", ns=(1, 1))
    second = cache.get(("m",), [folder], counting(loads, "m"))
    assert second is not first and loads == ["m", "m"]
    assert cache.get(("m",), [folder], counting(loads, "m")) is second
    (folder / "metrics.json").write_text("{}")
    assert cache.get(("m",), [folder], counting(loads, "m")) is not second and len(loads) == 3


def test_the_cache_keeps_only_the_most_recently_used(tmp_path):
    cache, loads = LoadedModels(capacity=2), []
    a = cache.get(("a",), [], counting(loads, "a"))
    cache.get(("b",), [], counting(loads, "b"))
    assert cache.get(("a",), [], counting(loads, "a")) is a  # a is now the most recent
    cache.get(("c",), [], counting(loads, "c"))  # b goes
    assert len(cache) == 2
    cache.get(("a",), [], counting(loads, "a"))
    cache.get(("b",), [], counting(loads, "b"))
    assert loads == ["a", "b", "c", "b"]


def test_a_failed_load_keeps_nothing(tmp_path):
    cache = LoadedModels(capacity=2)

    def broken():
        raise OSError("truncated")

    with pytest.raises(OSError):
        cache.get(("x",), [tmp_path], broken)
    assert len(cache) == 0


@pytest.mark.skipif(not packaged_whisper.available(), reason="the packaged Whisper base is not installed")
def test_whisper_base_is_loaded_once_per_worker_for_chat_voices_and_echolite(settings, monkeypatch):
    settings.ECHOFU = {**settings.ECHOFU, "WHISPER_CHECKPOINT": "", "MODEL_CACHE": os.environ.get("ECHOFU_MODEL_CACHE") or settings.ECHOFU["MODEL_CACHE"]}
    loaded_models.clear()
    loads = []
    real_load = loaded_models.load_transcriber

    def load_transcriber(*args):
        loads.append(args)
        return real_load(*args)

    monkeypatch.setattr(loaded_models, "load_transcriber", load_transcriber)
    chat_asr = loaded_models.transcriber()
    assert loaded_models.transcriber() is chat_asr
    assert reference_transcriber() is chat_asr.model  # the voice fitting's transcriber is the same model
    encoder = loaded_models.speech_encoder()
    assert encoder.whisper is chat_asr.model.model and loaded_models.speech_encoder() is encoder
    assert len(loads) == 1
    # The shared encoder gives EchoLite the states it would compute with its own copy of Whisper.
    sound = np.sin(np.linspace(0, 400 * np.pi, 16000)).astype(np.float32) * np.linspace(0, 1, 16000, dtype=np.float32)
    states = encoder.states(sound)
    assert states.shape == (50, 512)
    assert np.array_equal(states, SpeechEncoder().states(sound))
    loaded_models.clear()
