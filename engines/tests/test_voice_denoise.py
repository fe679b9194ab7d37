"""The noise-reduced copy of a reference the conversion is fitted to: the floor lowered, speech kept, clean recordings untouched."""
import numpy as np
import pytest

from engines.tests.test_voice_room import RATE, in_a_room, syllables
from engines.voice.denoise import GAIN_FLOOR_DB, fitting_copy, reduce_noise
from engines.voice.room import RoomTone, speech_level

FLOOR_DB = 25.0


def level_db(samples: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(samples, np.float64) ** 2) + 1e-20))


@pytest.fixture(scope="module")
def speech():
    return syllables(6.0)


def test_a_noisy_recordings_floor_is_lowered_by_up_to_the_gain_floor(speech):
    noisy = in_a_room(speech, FLOOR_DB, seed=3)
    tone = RoomTone.measure(noisy, RATE)
    reduced = reduce_noise(noisy, RATE, tone)
    assert reduced.shape == noisy.shape and reduced.dtype == noisy.dtype
    lowered = RoomTone.measure(reduced, RATE).speech_to_floor_db - tone.speech_to_floor_db
    assert 8 < lowered < -GAIN_FLOOR_DB + 3, f"the floor is {lowered:.1f} dB further under the speech"
    pauses = (np.arange(len(speech)) / RATE % 0.3) >= 0.2
    assert level_db(reduced[pauses]) - level_db(noisy[pauses]) > GAIN_FLOOR_DB - 1.5, "lowered, not removed: the gain has a floor"
    assert abs(10 * np.log10(speech_level(reduced, RATE) / speech_level(noisy, RATE))) < 1.0, "the speech keeps its level"
    voiced = np.abs(speech) > 0
    assert level_db(reduced[voiced] - noisy[voiced]) < level_db(speech[voiced]) - 30, "within the syllables the speech is kept"


def test_a_recording_without_an_audible_floor_is_returned_as_it_is(speech):
    silent_pauses = RoomTone.measure(speech, RATE)
    assert not silent_pauses.audible and reduce_noise(speech, RATE, silent_pauses) is speech
    quiet_room = in_a_room(speech, 60.0, seed=4)  # a studio: audible by the room tone's measure, far under the speech
    reduced = reduce_noise(quiet_room, RATE, RoomTone.measure(quiet_room, RATE))
    voiced = np.abs(speech) > 0
    assert level_db(reduced[voiced] - quiet_room[voiced]) < level_db(quiet_room[voiced]) - 40, "the speech itself is not touched"


def test_cloning_fits_on_the_reduced_copy_of_a_noisy_recording_and_says_so(speech):
    noisy = in_a_room(speech, FLOOR_DB, seed=5)
    room_tone = RoomTone.measure(noisy, RATE).as_dict()  # as the profile keeps it
    copy, record = fitting_copy(noisy, room_tone)
    assert np.array_equal(copy, reduce_noise(noisy, RATE, RoomTone.from_dict(room_tone)))
    assert record == {"speech_to_floor_db": round(room_tone["speech_to_floor_db"], 1), "gain_floor_db": GAIN_FLOOR_DB}
    assert fitting_copy(speech, RoomTone.measure(speech, RATE).as_dict()) == (speech, {}), "nothing to reduce: as it is"
    assert fitting_copy(noisy, {}) == (noisy, {}), "a profile cloned before the room tone was kept"
