"""Whisper loading from a local checkpoint (a tiny random one the test writes) and error rates."""
import pytest

from engines import media
from engines.asr import Transcriber, error_rate
from engines.testing.simple_media import write_tone_wav
from engines.testing.tiny_whisper import write_tiny_whisper


def test_tiny_checkpoint_loads_and_transcribes(tmp_path):
    import torch
    import whisper

    checkpoint = write_tiny_whisper(tmp_path / "tiny-random.pt")
    transcriber = Transcriber(checkpoint)
    assert transcriber.model.dims.n_text_state == 32, "the weights come from the file, not a hub"
    stages = []
    audio = write_tone_wav(tmp_path / "tone.wav", seconds=2.0)
    result = transcriber.transcribe(audio, progress=lambda stage, fraction, message="": stages.append((stage, fraction)))
    assert stages[0] == ("transcribe", 0.0) and stages[-1] == ("transcribe", 1.0)
    # No language given: the one reported is what this model detects on this audio, asked independently.
    mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(media.load_audio(audio, 16000))), transcriber.model.dims.n_mels)
    _, probabilities = transcriber.model.detect_language(mel)
    assert result.language == max(probabilities, key=probabilities.get)
    assert result.text == " ".join(segment["text"] for segment in result.segments).strip()


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
