"""Room tone: the reference's noise floor measured (level and colour) and laid under new speech."""
import numpy as np
import pytest

from engines import media
from engines.voice.room import INAUDIBLE_DB, LOUDEST_DB, RoomTone, lay_room_tone, room_tone_of, speech_level
from engines.voice.speaker import SpeakerFeatures

RATE = 16000


def syllables(seconds: float) -> np.ndarray:
    """Bursts of a buzzy vowel, 0.2 s on and 0.1 s off, at about -20 dBFS: speech with pauses of digital silence."""
    t = np.arange(int(seconds * RATE)) / RATE
    vowel = 0.2 * np.sign(np.sin(2 * np.pi * 140 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 700 * t))
    return (vowel * ((t % 0.3) < 0.2)).astype(np.float32)


def low_hum(length: int, rng: np.random.Generator) -> np.ndarray:
    """Noise with its power below 500 Hz, at unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum[np.fft.rfftfreq(length, 1 / RATE) > 500] = 0
    noise = np.fft.irfft(spectrum, length)
    return noise / np.sqrt(np.mean(noise**2))


def in_a_room(speech: np.ndarray, floor_db: float, seed: int) -> np.ndarray:
    """`speech` with a low hum `floor_db` under it."""
    noise = low_hum(len(speech), np.random.default_rng(seed)) * np.sqrt(speech_level(speech, RATE) / 10 ** (floor_db / 10))
    return (speech + noise).astype(np.float32)


def band_share(samples: np.ndarray, below_hz: float, rate: int = RATE) -> float:
    power = np.abs(np.fft.rfft(samples)) ** 2
    return float(power[np.fft.rfftfreq(len(samples), 1 / rate) < below_hz].sum() / power.sum())


def floor_under(laid: np.ndarray, speech: np.ndarray) -> float:
    """How far (dB) what was laid lies under the speech."""
    return float(10 * np.log10(speech_level(speech, RATE) / np.mean((laid - speech) ** 2)))


FLOOR_DB = 30.0


def reads_the_floor(measured_db: float) -> bool:
    """At the floor, or a little under it (the quietest of the noise; frames without their mean): never louder."""
    return FLOOR_DB - 0.5 < measured_db < FLOOR_DB + 3.0


@pytest.fixture
def noisy_reference():
    return in_a_room(syllables(6.0), FLOOR_DB, seed=1)


def test_the_floor_is_measured_at_its_level_and_in_its_colour(noisy_reference):
    tone = RoomTone.measure(noisy_reference, RATE)
    assert tone.audible and reads_the_floor(tone.speech_to_floor_db), tone.speech_to_floor_db
    assert band_share(tone.noise(RATE * 2, RATE), 600) > 0.9, "the new noise has the floor's colour (a low hum), not white"
    stored = RoomTone.from_dict(tone.as_dict())
    assert stored.speech_to_floor_db == pytest.approx(tone.speech_to_floor_db, abs=0.01) and stored.rate == RATE
    assert np.allclose(stored.spectrum, tone.spectrum, rtol=1e-3, atol=1e-12)


def test_a_recording_mostly_silent_reads_its_floor_no_louder(noisy_reference):
    room = low_hum(RATE * 12, np.random.default_rng(10)) * np.sqrt(speech_level(noisy_reference, RATE) / 10 ** (FLOOR_DB / 10))
    padded = np.concatenate([room[: RATE * 6], noisy_reference, room[RATE * 6:]]).astype(np.float32)  # 6 s of speech in 18 s
    assert reads_the_floor(RoomTone.measure(padded, RATE).speech_to_floor_db), "the speech's level is the same however much silence"


def test_the_tone_lies_as_far_under_new_speech_as_under_the_reference(noisy_reference):
    tone = RoomTone.measure(noisy_reference, RATE)
    speech = syllables(4.0) * 0.5  # quieter speech: the floor follows it
    laid = tone.under(speech, RATE)
    assert laid.shape == speech.shape and laid.dtype == np.float32
    assert abs(floor_under(laid, speech) - tone.speech_to_floor_db) < 0.5
    pauses = (np.arange(len(speech)) / RATE % 0.3) >= 0.2
    assert np.abs(laid[pauses]).max() > 0 and np.abs(speech[pauses]).max() == 0, "the pauses carry the room too"
    assert not np.allclose(tone.noise(1000, RATE), noisy_reference[:1000]), "drawn anew, not the recording's samples"
    assert not np.allclose(tone.under(speech, RATE), laid), "and anew for every utterance"


def test_a_studio_reference_lays_nothing():
    tone = RoomTone.measure(syllables(4.0), RATE)  # digital silence between the syllables
    assert tone.speech_to_floor_db == INAUDIBLE_DB and not tone.audible
    other = syllables(2.0)
    assert not tone.lays_anything_under(other, RATE) and tone.under(other, RATE) is other


def test_no_speech_gets_no_tone(noisy_reference):
    tone = RoomTone.measure(noisy_reference, RATE)
    silent = np.zeros(RATE, np.float32)
    assert not tone.lays_anything_under(silent, RATE) and tone.under(silent, RATE) is silent


def test_a_dc_offset_is_not_a_room():
    tone = RoomTone.measure(syllables(4.0) + 0.01, RATE)
    assert not tone.audible, tone.speech_to_floor_db


def test_a_very_noisy_recording_keeps_its_tone_under_the_words():
    tone = RoomTone.measure(in_a_room(syllables(6.0), 5.0, seed=2), RATE)
    assert tone.speech_to_floor_db == LOUDEST_DB
    speech = syllables(3.0)
    assert abs(floor_under(tone.under(speech, RATE), speech) - LOUDEST_DB) < 2.0


def test_a_reference_too_short_to_measure_is_refused():
    with pytest.raises(ValueError, match="too short"):
        RoomTone.measure(np.zeros(RATE // 10, np.float32), RATE)


def test_speech_at_another_rate_gets_the_tone_within_the_recordings_band():
    white = np.random.default_rng(8).standard_normal(RATE * 3).astype(np.float32) * 1e-3
    tone = RoomTone.measure(syllables(3.0) + white, RATE)
    noise = tone.noise(24000 * 2, 24000)
    assert band_share(noise, 8000, 24000) > 0.999 and band_share(noise, 4000, 24000) > 0.4, "the 16 kHz recording's 0-8 kHz, nothing above"


def test_a_voice_cloned_before_the_tone_was_kept_is_measured_on_its_recording_while_kept(tmp_path, noisy_reference):
    media.write_wav(tmp_path / "upload.wav", noisy_reference, RATE)
    older = SpeakerFeatures([], 120.0, 2.0, 100.0, 150.0, [], 6.0, clean_clip=str(tmp_path / "clean.wav"))
    assert reads_the_floor(room_tone_of(older, tmp_path / "upload.wav").speech_to_floor_db)
    assert room_tone_of(older, tmp_path / "gone.wav") is None and room_tone_of(older, None) is None
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt not audio")
    assert room_tone_of(older, tmp_path / "broken.wav") is None, "a recording that no longer decodes: no tone, no failed job"
    kept = RoomTone(np.ones(161), 22.0, RATE)
    newer = SpeakerFeatures.from_dict({**older.as_dict(), "room_tone": kept.as_dict()})
    assert room_tone_of(newer, tmp_path / "upload.wav").speech_to_floor_db == 22.0, "the tone kept at cloning comes first"


def test_a_wav_is_rewritten_with_the_tone_under_it_or_left_alone(tmp_path, noisy_reference):
    speech = syllables(3.0)
    media.write_wav(tmp_path / "speech.wav", speech, RATE)
    written = (tmp_path / "speech.wav").read_bytes()
    assert not lay_room_tone(tmp_path / "speech.wav", RoomTone.measure(syllables(2.0), RATE), RATE)
    assert (tmp_path / "speech.wav").read_bytes() == written, "an inaudible room leaves the file as it was"
    assert lay_room_tone(tmp_path / "speech.wav", RoomTone.measure(noisy_reference, RATE), RATE)
    laid = media.load_audio(tmp_path / "speech.wav", RATE)
    assert len(laid) == len(speech) and reads_the_floor(floor_under(laid, speech))
