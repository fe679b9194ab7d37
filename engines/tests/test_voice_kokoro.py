"""Kokoro-82M, the default engine's Mandarin base voice for men: packaged weights checked, clear Mandarin, fitted and used."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

from engines import media
from engines.asr import error_rate, load_transcriber
from engines.onnx_convolution import integer_dot_product, session_model
from engines.speech_states import weights_cache
from engines.testing.voices import other_speaker
from engines.voice import SpeakerEncoder, analyse_reference, create_synthesizer
from engines.voice import default as default_voice
from engines.voice import kokoro_base
from engines.voice.analysis import SAMPLE_RATE
from engines.voice.default import FEMALE_F0, KOKORO, MALE_VARIANT, PIPER, kokoro_languages, voice_variant
from engines.voice.fitted import Segment
from engines.voice.kokoro_base import KokoroBase, KokoroUnavailable, model_path, token_runs

MANDARIN = "今天的天气很好，我们一起去公园散步吧。"
ENGLISH = "The quick brown fox jumps over the lazy dog. We will meet again tomorrow morning at the old station."


@pytest.fixture(scope="module")
def kokoro():
    return KokoroBase()


@pytest.fixture(scope="module")
def man(tmp_path_factory):
    """A man's voice (espeak-ng reshaped), analysed, with his clean clip."""
    folder = tmp_path_factory.mktemp("kokoro")
    media.write_wav(folder / "reference.wav", other_speaker(ENGLISH, pitch_factor=1.0, formant_factor=0.92), SAMPLE_RATE)
    speaker = analyse_reference(folder / "reference.wav", folder / "clean.wav", SpeakerEncoder())
    assert voice_variant(speaker) == MALE_VARIANT, speaker.f0_mean
    return speaker


def test_packaged_kokoro_speaks_mandarin_that_whisper_reads(kokoro):
    samples = kokoro.speak(MANDARIN)
    seconds = len(samples) / SAMPLE_RATE
    assert 1.5 < seconds < 6.0 and np.sqrt(np.mean(samples**2)) > 0.01, seconds
    transcriber = load_transcriber(cache_dir=weights_cache())
    heard = transcriber.transcribe(samples, "zh").text
    assert error_rate(MANDARIN, heard, "char") < 0.25, heard
    assert len(kokoro.speak(MANDARIN, speed=1.3)) < 0.85 * len(samples), "speed > 1 speaks faster"
    english = kokoro.speak("Please bring the keys.", "en")
    assert 0.8 < len(english) / SAMPLE_RATE < 4.0, "English through espeak-ng's phonemes"


def test_speech_without_a_speaker_is_kokoros_chinese_and_pipers_english(tmp_path):
    """The pages' default voice, the first a new user hears: espeak-ng's Mandarin was heard as 你熬我是你的主持人."""
    transcriber = load_transcriber(cache_dir=weights_cache())

    def heard(synthesizer, text: str, language: str) -> str:
        spoken = synthesizer.synthesize(text, None, tmp_path / f"{language}.wav")
        return transcriber.transcribe(media.load_audio(spoken.path, SAMPLE_RATE), language).text

    default = create_synthesizer("default")
    chinese_errors = error_rate(MANDARIN, heard(default, MANDARIN, "zh"), "char")
    assert chinese_errors < 0.25
    assert error_rate(ENGLISH, heard(default, ENGLISH, "en"), "word") < 0.2
    espeak_only = create_synthesizer("default", neural_english=False, neural_mandarin=False)
    assert error_rate(MANDARIN, heard(espeak_only, MANDARIN, "zh"), "char") > chinese_errors
    assert not np.array_equal(*(media.load_audio(synthesizer.synthesize(ENGLISH, None, tmp_path / f"{name}.wav").path, SAMPLE_RATE)
                                for name, synthesizer in (("piper", default), ("espeak", espeak_only)))), "Piper spoke the English"


def test_speech_without_a_speaker_falls_back_to_espeak_ng_when_kokoro_will_not_load(tmp_path, monkeypatch):
    loads = []

    def damaged(*args, **kwargs):
        loads.append(args)
        raise KokoroUnavailable("the reassembled Kokoro model has sha256 0000, expected 1111")

    monkeypatch.setattr(default_voice, "KokoroBase", damaged)
    spoken = create_synthesizer("default").synthesize(MANDARIN + MANDARIN, None, tmp_path / "fallback.wav")
    assert spoken.duration > 3.0, "espeak-ng spoke both sentences"
    assert len(loads) == 1, "Kokoro was tried once, not for every sentence"

def test_kokoro_speaks_with_a_given_style_pack(kokoro):
    """`pack` replaces the stock voice's style vectors (bench/bench_voice_style.py speaks with fitted ones)."""
    stock = kokoro.voices[kokoro.voice]
    assert np.array_equal(kokoro.speak(MANDARIN, pack=stock.copy()), kokoro.speak(MANDARIN)), "the same pack, the same speech"
    other = kokoro.speak(MANDARIN, pack=(0.5 * stock + 0.5 * kokoro.voices["jf_alpha"]).astype(np.float32))
    assert len(other) > 0 and not np.array_equal(other, kokoro.speak(MANDARIN))


@pytest.mark.skipif(not integer_dot_product(), reason="the rewrite runs on CPUs with VNNI only")
def test_kokoro_speaks_the_same_with_its_convolutions_as_integer_matrix_products(kokoro):
    published = model_path(weights_cache())
    loaded = session_model(published)
    assert isinstance(loaded, bytes), "rewritten on this CPU"
    operators = [node.op_type for node in onnx.load(str(published)).graph.node]
    rewritten = [node.op_type for node in onnx.load_from_string(loaded).graph.node]
    assert operators.count("ConvInteger") > 80 and rewritten.count("ConvInteger") < 5
    as_published = KokoroBase(integer_matmuls=False).speak(MANDARIN)
    assert np.array_equal(kokoro.speak(MANDARIN), as_published), "the same integers, the same speech"


def test_kokoro_loads_as_published_when_its_rewritten_graph_does_not(monkeypatch, caplog):
    monkeypatch.setattr(kokoro_base, "session_model", lambda path, rewrite: b"not an ONNX graph")
    kokoro = KokoroBase()
    assert len(kokoro.speak("你好。")) > SAMPLE_RATE // 4
    assert "loading it as published" in caplog.text


def test_kokoro_weights_are_checked_against_the_sha256_held_in_code(tmp_path):
    with pytest.raises(KokoroUnavailable, match="sha256"):
        KokoroBase(cache_dir=tmp_path, model_sha256="0" * 64)
    assert not list(tmp_path.iterdir()), "nothing half-written is left in the cache"
    with pytest.raises(KokoroUnavailable, match="voices_ja.npz"):
        KokoroBase(cache_dir=tmp_path, data_sha256={**kokoro_base.DATA_SHA256, "voices_ja.npz": "0" * 64})
    with pytest.raises(KokoroUnavailable, match="no Kokoro voice"):
        KokoroBase("nobody", cache_dir=tmp_path)


def test_long_text_is_cut_at_word_boundaries_within_the_models_context():
    space = 9
    tokens = [1] * 300 + [space] + [2] * 300 + [space] + [3] * 50
    runs = token_runs(tokens, space)
    assert [len(run) for run in runs] == [301, 351] and sum(runs, []) == tokens
    unbroken = token_runs([4] * 1200, space)
    assert [len(run) for run in unbroken] == [510, 510, 180], "no boundary: cut at the limit"


def test_men_get_a_kokoro_fit_that_speaks_their_chinese_and_nothing_else(man, kokoro, tmp_path):
    synthesizer = create_synthesizer("default")
    assert synthesizer.neural_mandarin, "Kokoro's packages are in requirements.txt"
    clean = media.load_audio(man.clean_clip, SAMPLE_RATE)
    segments = [Segment(0.0, len(clean) / SAMPLE_RATE, ENGLISH)]
    man.conversion = synthesizer.fit(man, clean, "en", segments, tmp_path / "fit.npz")
    figures = man.conversion["bases"][KOKORO]
    assert figures["method"] == "parallel" and figures["pairs"] > 300, "fitted on Kokoro saying his own words"
    assert figures["content_language"] == "zh", "his Chinese matched to his frames by speech states"
    assert set(man.conversion["bases"]) == {PIPER, KOKORO}
    with np.load(tmp_path / "fit.npz", allow_pickle=False) as data:
        assert {"kokoro_warp", "kokoro_voiced_bank"} <= set(data.files) and "kokoro_content_keys" not in data.files
    voice = synthesizer.fitted_voice(man, KOKORO)
    assert kokoro_languages(voice) == {"zh"}, "an English speaker's English stays with Piper"

    fresh = create_synthesizer("default")
    fresh.synthesize("Please bring the report.", man, tmp_path / "en.wav")
    assert fresh._kokoro is None, "English is not spoken by Kokoro"
    chinese = fresh.synthesize(MANDARIN, man, tmp_path / "zh.wav")
    assert fresh._kokoro is not None, "his Chinese is"
    assert chinese.duration == pytest.approx(len(kokoro.speak(MANDARIN)) / SAMPLE_RATE * voice.rate, rel=0.15), "at his rate"
    assert media.verify(tmp_path / "zh.wav", "audio").duration == pytest.approx(chinese.duration, abs=0.05), "a playable file"

    espeak_only = create_synthesizer("default", neural_mandarin=False)
    espeak_only.synthesize(MANDARIN, man, tmp_path / "espeak.wav")
    assert espeak_only._kokoro is None, "switched off, espeak-ng speaks"
    older = type(man).from_dict({**man.as_dict(), "conversion": {**man.conversion, "bases": {PIPER: man.conversion["bases"][PIPER]}}})
    before = create_synthesizer("default")
    before.synthesize(MANDARIN, older, tmp_path / "older.wav")
    assert before._kokoro is None, "a profile cloned before Kokoro keeps espeak-ng"


def test_mandarin_men_speak_chinese_and_english_by_kokoro_and_women_chinese_by_kokoro(man, tmp_path):
    synthesizer = create_synthesizer("default")
    clean = media.load_audio(man.clean_clip, SAMPLE_RATE)
    segments = [Segment(0.0, len(clean) / SAMPLE_RATE, "今天的天气很好，我们一起去公园散步吧。明天可能会下雨，记得带伞。")]
    mandarin = synthesizer.fit(man, clean, "zh", segments, tmp_path / "zh.npz")
    figures = mandarin["bases"][KOKORO]
    assert figures["method"] == "parallel" and mandarin["exemplar_language"] == "zh"
    assert figures["content_language"] == "en" and (figures["content_share"], figures["content_unvoiced_share"]) == (0.75, 0.75)
    profile = type(man).from_dict({**man.as_dict(), "conversion": mandarin})
    fit = synthesizer.fitted_voice(profile, KOKORO)
    assert len(fit.exemplar_base) > 100, "Kokoro's frames paired with his, as exemplars for his Mandarin"
    assert kokoro_languages(fit) == {"zh", "en"}
    fresh = create_synthesizer("default")
    assert fresh.synthesize(MANDARIN, profile, tmp_path / "zh.wav").duration > 1.5
    english = fresh.synthesize("Please bring the report and the keys.", profile, tmp_path / "en.wav")
    assert english.duration > 1.0 and fresh._piper is None, "his English by Kokoro too, not by Piper's fit on statistics"
    before = create_synthesizer("default", neural_mandarin=False)
    before.synthesize("Please bring the report and the keys.", profile, tmp_path / "piper.wav")
    assert before._piper is not None and before._kokoro is None, "without Kokoro, Piper's fit speaks it as before"

    woman = type(man).from_dict({**man.as_dict(), "f0_mean": FEMALE_F0 + 50})
    fitted = synthesizer.fit(woman, clean, "en", [Segment(0.0, len(clean) / SAMPLE_RATE, ENGLISH)], tmp_path / "woman.npz")
    assert set(fitted["bases"]) == {PIPER, KOKORO}, "a woman's Chinese by Kokoro's men's voice too, moved by her fit"
    her = type(woman).from_dict({**woman.as_dict(), "conversion": fitted})
    assert kokoro_languages(synthesizer.fitted_voice(her, KOKORO)) == {"zh"}
    untranscribed = synthesizer.fit(woman, clean, "en", [], tmp_path / "untranscribed.npz")
    assert KOKORO not in untranscribed.get("bases", {}), "without the reference's words there is nothing for Kokoro to say"
