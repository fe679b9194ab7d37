"""The voice stack: text chunking, reference analysis, the offline synthesizer and its conversion."""
from __future__ import annotations

import numpy as np
import pyworld
import pytest

from engines import media
from engines.messages import Message
from engines.testing.voices import other_speaker
from engines.text import NothingToSpeak, chunks, language_of, speakable_chunks
from engines.voice import SpeakerEncoder, analyse_reference, create_synthesizer, speaker_similarity
from engines.voice.analysis import SAMPLE_RATE
from engines.voice.default import espeak, voice_variant
from engines.voice.room import INAUDIBLE_DB
from engines.voice.synthesis import speak_chunks


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    return SpeakerEncoder()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A recording of someone espeak's plain voices do not sound like, with silence around it."""
    folder = tmp_path_factory.mktemp("reference")
    samples = other_speaker("The quick brown fox jumps over the lazy dog. We will meet again tomorrow morning. "
                            "Please bring the report and the keys to the office.")
    padded = np.concatenate([np.zeros(SAMPLE_RATE), samples, np.zeros(SAMPLE_RATE)])
    path = folder / "reference.wav"
    media.write_wav(path, padded, SAMPLE_RATE)
    return path


def test_text_is_split_at_sentences_and_language_changes():
    pieces = chunks("你好，世界。Hello there! 我们用 Python 写代码。")
    assert [(piece.text, piece.language) for piece in pieces] == [
        ("你好，世界。", "zh"), ("Hello there!", "en"), ("我们用", "zh"), ("Python", "en"), ("写代码。", "zh")]
    assert [piece.sentence_end for piece in pieces] == [True, True, False, False, True]
    long_text = "This sentence is one of many. " * 30
    assert all(len(piece.text) <= 160 for piece in chunks(long_text)) and len(chunks(long_text)) == 30
    assert language_of("OK 好的好的") == "zh" and language_of("hello world") == "en"
    assert chunks("  。!! ") == []


def test_text_without_words_is_refused_by_the_rule_synthesis_uses():
    assert [piece.text for piece in speakable_chunks("Hi!")] == ["Hi!"]
    spoken = []
    for text in ("?!。，", "  。!! ", "…——"):
        with pytest.raises(NothingToSpeak, match="nothing to speak"):
            speakable_chunks(text)
        with pytest.raises(NothingToSpeak):
            speak_chunks(text, 16000, lambda chunk: spoken.append(chunk) or np.zeros(160, np.float32), lambda *a: None)
    assert spoken == []


def test_chunks_are_joined_without_clicks():
    # A loud constant per chunk is the worst case for a join: without fades it jumps by 0.8.
    joined = speak_chunks("One. Two. Three.", 16000, lambda chunk: np.full(1600, 0.8, np.float32), lambda *a: None)
    assert np.abs(np.diff(joined)).max() < 0.01
    assert abs(len(joined) - (3 * 1600 + 2 * 0.25 * 16000)) <= 2


def test_reference_is_cleaned_and_described(reference, encoder, tmp_path):
    features = analyse_reference(reference, tmp_path / "clean.wav", encoder)
    clean = media.load_audio(tmp_path / "clean.wav", SAMPLE_RATE)
    assert abs(len(clean) / SAMPLE_RATE - features.duration) < 0.05
    assert features.duration < media.probe(reference).duration - 1.5, "leading and trailing silence removed"
    assert -23 < 20 * np.log10(np.sqrt(np.mean(clean**2))) < -17, "loudness normalised to -20 dBFS"
    assert 150 < features.f0_mean < 260 and features.f0_low < features.f0_mean < features.f0_high
    assert len(features.embedding) == 256 and abs(np.linalg.norm(features.embedding) - 1) < 1e-3
    assert features.room_tone["speech_to_floor_db"] == INAUDIBLE_DB, "its silences are digital: no room to lay under speech"


@pytest.mark.parametrize("seconds, message", [(1.0, "too short"), (0.0, "too short")])
def test_unusable_references_are_refused(tmp_path, encoder, seconds, message):
    path = tmp_path / "short.wav"
    media.write_wav(path, np.zeros(int(seconds * SAMPLE_RATE) + 160, np.float32), SAMPLE_RATE)
    with pytest.raises(ValueError, match=message):
        analyse_reference(path, tmp_path / "clean.wav", encoder)
    silent = tmp_path / "silent.wav"
    media.write_wav(silent, np.zeros(5 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    with pytest.raises(ValueError, match="speech"):
        analyse_reference(silent, tmp_path / "clean.wav", encoder)


def test_a_reference_too_quiet_to_hold_speech_is_called_too_quiet(reference, encoder, tmp_path):
    samples = media.load_audio(reference, SAMPLE_RATE)
    quiet = tmp_path / "quiet.wav"
    media.write_wav(quiet, samples / np.abs(samples).max() * 10 ** (-62 / 20), SAMPLE_RATE)  # a peak of -62 dBFS
    with pytest.raises(ValueError, match="too quiet"):
        analyse_reference(quiet, tmp_path / "clean.wav", encoder)


def test_a_clipped_reference_is_cloned_with_a_warning(reference, encoder, tmp_path):
    samples = media.load_audio(reference, SAMPLE_RATE)
    loud = tmp_path / "loud.wav"
    media.write_wav(loud, np.clip(samples / np.abs(samples).max() * 8, -1, 1), SAMPLE_RATE)  # recorded 18 dB too hot
    messages = []
    analyse_reference(loud, tmp_path / "clean.wav", encoder, lambda stage, fraction, message="": messages.append(message))
    [warning] = [message for message in messages if "clipped" in message]
    assert isinstance(warning, Message), "our own line, translated where it is shown"
    messages.clear()
    analyse_reference(reference, tmp_path / "clean.wav", encoder, lambda stage, fraction, message="": messages.append(message))
    assert not any("clipped" in message for message in messages)


def test_default_voice_is_measurably_closer_to_the_speaker(reference, encoder, tmp_path):
    speaker = analyse_reference(reference, tmp_path / "clean.wav", encoder)
    synthesizer = create_synthesizer("default")
    assert synthesizer.availability()[0]
    text = "Good evening. The weather will be dry and sunny for the rest of the week."
    result = synthesizer.synthesize(text, speaker, tmp_path / "converted.wav")
    converted = media.load_audio(result.path, SAMPLE_RATE)
    info = media.probe(result.path)
    assert info.audio_codec.startswith("pcm_s16") and info.sample_rate == SAMPLE_RATE and result.duration > 2
    plain = espeak(text, "en", voice_variant(speaker))
    converted_similarity = speaker_similarity(encoder.embed(converted), speaker.embedding)
    plain_similarity = speaker_similarity(encoder.embed(plain), speaker.embedding)
    assert converted_similarity > plain_similarity + 0.05, (converted_similarity, plain_similarity)


def test_chinese_english_and_pitch(reference, encoder, tmp_path):
    speaker = analyse_reference(reference, tmp_path / "clean.wav", encoder)
    synthesizer = create_synthesizer("default")
    base = synthesizer.synthesize("今天天气很好。Let's go outside!", speaker, tmp_path / "base.wav")
    higher = synthesizer.synthesize("今天天气很好。Let's go outside!", speaker, tmp_path / "high.wav", pitch_semitones=4)
    from engines.voice.analysis import f0_statistics

    base_f0 = f0_statistics(media.load_audio(base.path, SAMPLE_RATE))["mean"]
    high_f0 = f0_statistics(media.load_audio(higher.path, SAMPLE_RATE))["mean"]
    assert 3 < 12 * np.log2(high_f0 / base_f0) < 5
    # Chinese: Kokoro speaks it the same each time, where Piper's English draws its intonation anew. Its men's
    # voice, about 85 Hz, dips below DIO's 71 Hz floor: Harvest, tracking down to 40 Hz, measures it.
    own_voice = synthesizer.synthesize("今天天气很好。", None, tmp_path / "own.wav")
    own_lower = synthesizer.synthesize("今天天气很好。", None, tmp_path / "own_low.wav", pitch_semitones=-3)

    def median_f0(path) -> float:
        f0, _ = pyworld.harvest(media.load_audio(path, SAMPLE_RATE).astype(np.float64), SAMPLE_RATE, f0_floor=40.0)
        return float(np.median(f0[f0 > 0]))

    assert -3.5 < 12 * np.log2(median_f0(own_lower.path) / median_f0(own_voice.path)) < -2.5, "pitch applies without a speaker too"
    with pytest.raises(ValueError, match="nothing to speak"):
        synthesizer.synthesize("。。。", speaker, tmp_path / "empty.wav")
    assert not (tmp_path / "empty.wav").exists()


def test_cosyvoice_adapter_speaks_through_the_server_api(reference, encoder, tmp_path):
    from engines.testing.fake_cosyvoice import FakeCosyVoice
    from engines.voice.cosyvoice import CosyVoiceError

    speaker = analyse_reference(reference, tmp_path / "clean.wav", encoder)
    with FakeCosyVoice(sample_rate=24000, announce_rate=True) as server:  # a fork that announces its rate
        synthesizer = create_synthesizer("cosyvoice", base_url=server.url, sample_rate=22050)
        assert synthesizer.availability()[0]
        result = synthesizer.synthesize("你好。Nice to meet you.", speaker, tmp_path / "cosy.wav")
        assert [endpoint for endpoint, _ in server.requests] == ["/inference_cross_lingual"] * 2
        assert [fields["tts_text"] for _, fields in server.requests] == ["你好。", "Nice to meet you."]
        prompt = tmp_path / "prompt.wav"
        prompt.write_bytes(server.requests[0][1]["prompt_wav"])
        assert media.probe(prompt).sample_rate == 16000
        info = media.probe(result.path)
        assert info.sample_rate == 22050 and result.engine == "cosyvoice"
        expected = 0.3 + 0.08 * 17 + 0.25  # the fake speaks 0.08 s per character (at least 0.3 s), plus the sentence pause
        assert abs(result.duration - expected) < 0.05

        speaker.prompt_text = "The quick brown fox jumps over the lazy dog."
        synthesizer.synthesize("Again.", speaker, tmp_path / "zero_shot.wav")
        assert server.requests[-1][0] == "/inference_zero_shot"
        assert server.requests[-1][1]["prompt_text"] == speaker.prompt_text
        with pytest.raises(ValueError, match="pitch"):
            synthesizer.synthesize("Again.", speaker, tmp_path / "pitched.wav", pitch_semitones=2)
    unreachable = create_synthesizer("cosyvoice", base_url=server.url)
    assert not unreachable.availability()[0]
    with pytest.raises(CosyVoiceError, match="unreachable"):
        unreachable.synthesize("Hello.", speaker, tmp_path / "none.wav")
    assert not (tmp_path / "none.wav").exists()
    assert "ECHOFU_COSYVOICE_URL" in create_synthesizer("cosyvoice", base_url="").availability()[1]


@pytest.mark.slow
def test_xtts_adapter_loads_a_model_directory_and_speaks(reference, encoder, tmp_path):
    from engines.testing.tiny_xtts import write_tiny_xtts

    speaker = analyse_reference(reference, tmp_path / "clean.wav", encoder)
    assert "ECHOFU_XTTS_DIR" in create_synthesizer("xtts", model_dir=None).availability()[1]
    assert "model.pth" in create_synthesizer("xtts", model_dir=tmp_path).availability()[1]
    model_dir = write_tiny_xtts(tmp_path / "xtts")
    synthesizer = create_synthesizer("xtts", model_dir=model_dir)
    assert synthesizer.availability()[0]
    result = synthesizer.synthesize("Hello there. 你好。", speaker, tmp_path / "xtts.wav")
    assert synthesizer.model.args.gpt_n_model_channels == 32, "the configuration came from the directory"
    info = media.probe(result.path)
    assert info.sample_rate == 24000 and result.engine == "xtts" and result.duration > 0.1
    # A Chinese sentence longer than XTTS's tokenizer takes (82 characters) goes in pieces it takes whole.
    asked, inference = [], synthesizer.model.inference
    synthesizer.model.inference = lambda text, *args, **kwargs: asked.append(text) or inference(text, *args, **kwargs)
    synthesizer.synthesize("今天的天气很好我们一起去公园散步吧" * 6, speaker, tmp_path / "long.wav")
    assert len(asked) == 2 and all(len(text) <= 82 for text in asked) and "".join(asked) == "今天的天气很好我们一起去公园散步吧" * 6
    with pytest.raises(ValueError, match="pitch"):
        synthesizer.synthesize("Hello.", speaker, tmp_path / "pitched.wav", pitch_semitones=3)


def test_xtts_without_its_package_is_unavailable_and_says_which_to_install(tmp_path, monkeypatch):
    import importlib.util

    for name in ("config.json", "model.pth", "vocab.json"):
        (tmp_path / name).write_bytes(b"{}")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "TTS" else find_spec(name, *args))
    usable, reason = create_synthesizer("xtts", model_dir=tmp_path).availability()
    assert not usable and "coqui-tts" in reason


def test_a_cosyvoice_server_that_never_answers_is_called_unavailable_within_seconds():
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (the backlog does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()
        usable, reason = create_synthesizer("cosyvoice", base_url=f"http://127.0.0.1:{silent.getsockname()[1]}").availability()
        assert not usable and "does not answer" in reason
        assert time.monotonic() - started < 3.0


def test_a_low_f0_floor_analyses_frames_that_synthesize_at_any_rate():
    """The envelope's size follows the floor, the aperiodicity's did not: at 24 kHz they no longer fitted together."""
    from engines.voice.analysis import world_analysis

    rate = 24000
    tone = (0.3 * np.sin(2 * np.pi * 90 * np.arange(rate) / rate)).astype(np.float32)
    f0, envelope, aperiodicity = world_analysis(tone, rate, f0_floor=50.0)
    assert envelope.shape == aperiodicity.shape
    assert len(pyworld.synthesize(f0, envelope, aperiodicity, rate, 5.0)) >= rate - 240
