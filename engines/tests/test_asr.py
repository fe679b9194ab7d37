"""Whisper loading from a local checkpoint (a tiny random one the test writes) and error rates."""
import numpy as np
import pytest

from engines.asr import Transcriber, error_rate
from engines.testing.simple_media import write_tone_wav
from engines.testing.tiny_whisper import write_tiny_whisper


def test_tiny_checkpoint_loads_and_transcribes(tmp_path):
    checkpoint = write_tiny_whisper(tmp_path / "tiny-random.pt")
    transcriber = Transcriber(checkpoint)
    assert transcriber.model.dims.n_text_state == 32, "the weights come from the file, not a hub"
    stages = []
    result = transcriber.transcribe(write_tone_wav(tmp_path / "tone.wav", seconds=2.0), language="en",
                                    progress=lambda stage, fraction, message="": stages.append((stage, fraction)))
    assert isinstance(result.text, str) and result.language == "en"
    assert stages[0] == ("transcribe", 0.0) and stages[-1] == ("transcribe", 1.0)
    from_array = transcriber.transcribe(np.zeros(16000, np.float32), language="zh")
    assert from_array.language == "zh"


def test_missing_or_broken_checkpoint_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="ECHOFU_WHISPER_CHECKPOINT"):
        Transcriber(tmp_path / "absent.pt")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception):
        Transcriber(broken)


def test_error_rates():
    assert error_rate("the cat sat on the mat", "the cat sat on the mat") == 0
    assert error_rate("the cat sat on the mat", "the bat sat on mat") == pytest.approx(2 / 6)
    assert error_rate("Hello, World!", "hello world") == 0
    assert error_rate("今天天气很好", "今天天气真好", unit="char") == pytest.approx(1 / 6)
    assert error_rate("", "") == 0 and error_rate("", "noise") == 1
