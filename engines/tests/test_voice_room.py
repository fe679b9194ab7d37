"""Room tone: the reference's noise floor measured (level and colour) and laid under new speech."""
import numpy as np
import pytest

from engines import media
from engines.voice.room import INAUDIBLE_DB, RoomTone, lay_room_tone, room_tone_of, speech_level
from engines.voice.speaker import SpeakerFeatures

RATE = 16000


def syllables(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Bursts of a buzzy vowel, 0.2 s on and 0.1 s off, at about -20 dBFS: speech with pauses."""
    t = np.arange(int(seconds * RATE)) / RATE
    vowel = 0.2 * np.sign(np.sin(2 * np.pi * 140 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 700 * t))
    return (vowel * ((t % 0.3) < 0.2)).astype(np.float32)


def low_hum(length: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with its power below 500 Hz, at unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum[np.fft.rfftfreq(length, 1 / RATE) > 500] = 0
    noise = np.fft.irfft(spectrum, length)
    return noise / np.sqrt(np.mean(noise**2))


def band_share(samples: np.ndarray, below_hz: float) -> float:
    power = np.abs(np.fft.rfft(samples)) ** 2
    return float(power[np.fft.rfftfreq(len(samples), 1 / RATE) < below_hz].sum() / power.sum())


@pytest.fixture
def noisy_reference():
    rng = np.random.default_rng(1)
    speech = syllables(6.0, rng)
    floor_db = 30.0  # the floor this far below the speech's level
    noise = low_hum(len(speech), rng) * np.sqrt(speech_level(speech, RATE) / 10 ** (floor_db / 10))
    return (speech + noise).astype(np.float32), floor_db


def test_the_floor_is_measured_at_its_level_and_in_its_colour(noisy_reference):
    reference, floor_db = noisy_reference
    tone = RoomTone.measure(reference, RATE)
    assert tone.audible and abs(tone.speech_to_floor_db - floor_db) < 2.0, tone.speech_to_floor_db
    assert band_share(tone.noise(RATE * 2, RATE), 600) > 0.9, "the new noise has the floor's colour (a low hum), not white"
    stored = RoomTone.from_dict(tone.as_dict())
    assert stored.speech_to_floor_db == pytest.approx(tone.speech_to_floor_db, abs=0.01) and stored.rate == RATE
    assert np.allclose(stored.spectrum, tone.spectrum, rtol=1e-3, atol=1e-12)


def test_a_recording_mostly_silent_reads_its_floor_a_little_low_never_high(noisy_reference):
    reference, floor_db = noisy_reference
    rng = np.random.default_rng(10)
    room = low_hum(RATE * 12, rng) * np.sqrt(speech_level(reference, RATE) / 10 ** (floor_db / 10))
    padded = np.concatenate([room[: RATE * 6], reference, room[RATE * 6:]]).astype(np.float32)  # 6 s of speech in 18 s
    measured = RoomTone.measure(padded, RATE).speech_to_floor_db
    assert floor_db - 0.5 < measured < floor_db + 3.0, "the speech's level is the same however much silence; the floor not louder"


def test_the_tone_lies_as_far_under_new_speech_as_under_the_reference(noisy_reference):
    reference, floor_db = noisy_reference
    tone = RoomTone.measure(reference, RATE)
    speech = syllables(4.0, np.random.default_rng(2)) * 0.5  # quieter speech: the floor follows it
    laid = tone.under(speech, RATE)
    assert laid.shape == speech.shape and laid.dtype == np.float32
    floor = laid - speech
    measured_db = 10 * np.log10(speech_level(speech, RATE) / np.mean(floor**2))
    assert abs(measured_db - floor_db) < 2.0, measured_db
    pauses = (np.arange(len(speech)) / RATE % 0.3) >= 0.2
    assert np.abs(laid[pauses]).max() > 0 and np.abs(speech[pauses]).max() == 0, "the pauses carry the room too"
    assert not np.allclose(tone.noise(1000, RATE), reference[:1000]), "drawn anew, not the recording's samples"


def test_a_studio_reference_adds_nothing():
    speech = syllables(4.0, np.random.default_rng(3))  # digital silence between the syllables
    tone = RoomTone.measure(speech, RATE)
    assert tone.speech_to_floor_db == INAUDIBLE_DB and not tone.audible
    other = syllables(2.0, np.random.default_rng(4))
    assert tone.under(other, RATE) is other
    silent = np.zeros(RATE, np.float32)
    assert RoomTone.measure(syllables(2.0, np.random.default_rng(5)) + 1e-3, RATE).under(silent, RATE) is silent, \
        "no speech, no level to lay the tone under"


def test_a_reference_too_short_to_measure_is_refused():
    with pytest.raises(ValueError, match="too short"):
        RoomTone.measure(np.zeros(RATE // 10, np.float32), RATE)


def test_speech_at_another_rate_gets_the_tone_within_the_recordings_band():
    white = np.random.default_rng(8).standard_normal(RATE * 3).astype(np.float32) * 1e-3
    tone = RoomTone.measure(syllables(3.0, np.random.default_rng(9)) + white, RATE)
    noise = tone.noise(24000 * 2, 24000)
    assert band_share(noise, RATE / 2) > 0.999 and band_share(noise, 4000) > 0.4, "the 16 kHz recording's 0-8 kHz, nothing above"


def test_a_voice_cloned_before_the_tone_was_kept_is_measured_on_its_clean_clip(tmp_path, noisy_reference):
    reference, floor_db = noisy_reference
    media.write_wav(tmp_path / "clean.wav", reference, RATE)
    older = SpeakerFeatures([], 120.0, 2.0, 100.0, 150.0, [], 6.0, clean_clip=str(tmp_path / "clean.wav"))
    assert abs(room_tone_of(older, RATE).speech_to_floor_db - floor_db) < 2.0
    kept = RoomTone(np.ones(161), 12.0, RATE)
    assert room_tone_of(SpeakerFeatures.from_dict({**older.as_dict(), "room_tone": kept.as_dict()}), RATE).speech_to_floor_db == 12.0


def test_a_wav_is_rewritten_with_the_tone_under_it(tmp_path, noisy_reference):
    reference, floor_db = noisy_reference
    speech = syllables(3.0, np.random.default_rng(7))
    media.write_wav(tmp_path / "speech.wav", speech, RATE)
    lay_room_tone(tmp_path / "speech.wav", RoomTone.measure(reference, RATE), RATE)
    laid = media.load_audio(tmp_path / "speech.wav", RATE)
    assert len(laid) == len(speech)
    floor = laid - speech
    assert abs(10 * np.log10(speech_level(speech, RATE) / np.mean(floor**2)) - floor_db) < 2.5
