"""Whisper from a local checkpoint (a tiny random one the test writes), the packaged default, and error rates."""
import os
from pathlib import Path

import numpy as np
import pytest
import zhconv

from engines import media, packaged_whisper
from engines.asr import FasterWhisperTranscriber, NoSpeech, Transcriber, error_rate, load_transcriber
from engines.voice.default import espeak
from engines.testing.simple_media import write_tone_wav
from engines.testing.tiny_whisper import write_tiny_whisper

REAL_MANDARIN = Path(__file__).resolve().parents[2] / "bench/data/zh_aishell1_S0764_4s.flac"


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


@pytest.mark.skipif(not packaged_whisper.available("base"), reason="packaged Whisper base is not installed")
def test_packaged_whisper_detects_mandarin_writes_simplified_and_refuses_noise(tmp_path):
    transcriber = load_transcriber(cache_dir=os.environ.get("ECHOFU_MODEL_CACHE") or tmp_path)
    assert isinstance(transcriber, FasterWhisperTranscriber)
    # Real Mandarin speech (AISHELL-1 BAC009S0764W0121, kept in bench/data), language not given.
    spoken = transcriber.transcribe(REAL_MANDARIN)
    assert spoken.language == "zh" and error_rate("甚至出现交易几乎停滞的情况", spoken.text, "char") < 0.2
    assert zhconv.convert(spoken.text, "zh-cn") == spoken.text
    english = transcriber.transcribe(espeak("What time does the exhibition close today?", "en", "m3"))
    assert english.language == "en" and error_rate("What time does the exhibition close today?", english.text) < 0.3
    noise = np.random.default_rng(0).normal(0, 0.05, 48000).astype(np.float32)
    for samples in (np.zeros(48000, np.float32), noise):
        with pytest.raises(NoSpeech):
            transcriber.transcribe(samples)
