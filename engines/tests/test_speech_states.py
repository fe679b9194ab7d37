"""Whisper's encoder states as the default voice matches sounds by them: positions taken out."""
from __future__ import annotations

import numpy as np
import pytest

from engines.speech_states import STATE_SIZE, STATES_PER_SECOND, SpeechEncoder, fitted_window
from engines.voice.default import espeak

FIRST = "The quick brown fox jumps over the lazy dog near the river bank."
SECOND = "Please bring the report and the keys to the office before noon."


@pytest.fixture(scope="module")
def encoder():
    return SpeechEncoder()


def speaking(samples: np.ndarray, states: int) -> np.ndarray:
    hop = len(samples) // states
    levels = np.array([np.sqrt(np.mean(samples[index * hop: (index + 1) * hop] ** 2) + 1e-12) for index in range(states)])
    return np.flatnonzero(levels > 0.05 * levels.max())


def nearest_in_second_sentence(encode, reference: np.ndarray, query: np.ndarray, split: float) -> float:
    """Share of the query's spoken states whose nearest reference state (cosine) lies in the reference's second sentence."""
    keys, queries = encode(reference), encode(query)
    spoken_keys, spoken_queries = speaking(reference, len(keys)), speaking(query, len(queries))

    def unit(rows: np.ndarray) -> np.ndarray:
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    nearest = spoken_keys[(unit(queries[spoken_queries]) @ unit(keys[spoken_keys]).T).argmax(axis=1)]
    return float(np.mean(nearest >= split))


def test_content_states_match_the_same_words_in_another_voice_wherever_they_fall(encoder):
    """Another voice says the reference's second sentence alone, so it starts where the reference's first
    one does: raw states find the first sentence by position (about 0.2 of frames in the right one),
    the content states find the words (about 0.9)."""
    first = espeak(FIRST, "en", "m3")
    reference = np.concatenate([first, espeak(SECOND, "en", "m3")])
    query = espeak(SECOND, "en", "f3")
    split = len(first) / 16000 * STATES_PER_SECOND
    raw = nearest_in_second_sentence(lambda audio: encoder.states(audio).astype(np.float32), reference, query, split)
    content = nearest_in_second_sentence(encoder.content_states, reference, query, split)
    assert content > 0.7 and content > raw + 0.3, (raw, content)


def test_content_states_have_the_shape_of_the_states_for_short_and_long_audio(encoder):
    for seconds in (2.0, 31.0):
        audio = np.random.default_rng(1).normal(0, 0.05, int(seconds * 16000)).astype(np.float32)
        states = encoder.content_states(audio)
        assert states.shape == encoder.states(audio).shape == (int(seconds * STATES_PER_SECOND), STATE_SIZE)
        assert states.dtype == np.float32
    assert fitted_window(2 * 16000) == 10 and fitted_window(31 * 16000) == 0
    for seconds in (3, 31):
        silence = encoder.content_states(np.zeros(seconds * 16000, np.float32))
        assert np.abs(silence).max() < 1e-6, f"silence is what is taken away ({seconds} s)"
