"""A noise-reduced copy of a reference recording, for fitting the conversion to the speaker without the room.

The clone fits its conversion (mel-cepstral envelope, the speaker's frames, F0 and voicing, the
modulation spectrum) to the reference's frames. A noisy recording's hiss fills the spectral valleys
of its quiet and unvoiced frames, and those frames would teach the conversion the hiss as the voice.
This is a short-time spectral gain: per frequency and 16 ms frame the Wiener gain xi / (1 + xi),
with the a priori speech-to-noise ratio xi estimated decision-directed (Ephraim and Malah, 1984):
mostly from the previous frame's cleaned power, so the gain does not flutter where noise and speech
are close (what gives plain spectral subtraction its "musical" noise). The gain never falls below a
floor (GAIN_FLOOR_DB): the noise is lowered, not removed, so speech is not hollowed out.

The noise spectrum is the room tone (`engines.voice.room.RoomTone`) measured on the recording as
uploaded (its pauses are where the floor is heard), laid at its level under the cleaned clip's own
speech: the cleaned clip has lost most of its silences, but it is the same recording scaled, so
its floor lies as far below its speech. A recording whose floor is inaudible is returned as it is.

Cloning takes the speaker's F0 statistics and fits the conversion on this copy (`fitting_copy`); the
stored clip, the speaker embedding and the room tone stay the recording's as uploaded. Measured paired
on the real references (bench/bench_voice_denoise.py, docs/voice-measurements.md "A noise-reduced
reference"): closest with the gentler of the two floors declared before the run, -12 dB.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import istft, stft

from engines.voice.analysis import SAMPLE_RATE
from engines.voice.room import RoomTone, speech_level

FRAME = 256  # 16 ms at 16 kHz
HOP = FRAME // 4
SMOOTHING = 0.98  # weight of the previous frame's estimate in the a priori ratio (Ephraim and Malah's value)
# The gentler of the two floors declared before measuring (-12 and -20 dB): -20 dB gained less on average
# and took the cleaner references further from the speaker (docs/voice-measurements.md, "A noise-reduced reference").
GAIN_FLOOR_DB = -12.0
NOISE_SECONDS = 4.0  # of drawn room tone the noise spectrum is averaged over: about a thousand frames


def noise_power(tone: RoomTone, samples: np.ndarray, rate: int) -> np.ndarray:
    """Per frequency bin of this module's frames, the mean power of the room tone laid under `samples`
    as far below their speech as the floor was below the reference's (zeros for an inaudible room)."""
    if not tone.lays_anything_under(samples, rate):
        return np.zeros(FRAME // 2 + 1)
    length = max(int(NOISE_SECONDS * rate), FRAME * 4)
    noise = tone.noise(length, rate, seed=0) * np.sqrt(speech_level(samples, rate) / 10 ** (tone.speech_to_floor_db / 10))
    _, _, spectra = stft(noise, rate, nperseg=FRAME, noverlap=FRAME - HOP)
    return (np.abs(spectra) ** 2).mean(1)


def reduce_noise(samples: np.ndarray, rate: int, tone: RoomTone, gain_floor_db: float = GAIN_FLOOR_DB) -> np.ndarray:
    """`samples` (float, at `rate`) with `tone`'s noise lowered by up to -`gain_floor_db` dB; the same
    array when the room is inaudible or the samples silent."""
    noise = noise_power(tone, samples, rate)
    if not noise.any() or len(samples) < FRAME:
        return samples
    _, _, spectra = stft(samples.astype(np.float64), rate, nperseg=FRAME, noverlap=FRAME - HOP)
    power = np.abs(spectra) ** 2
    noise = np.maximum(noise, 1e-20)[:, None]
    posterior = power / noise
    floor = 10 ** (gain_floor_db / 20)
    gains = np.empty_like(power)
    cleaned = np.zeros(len(noise))  # the previous frame's cleaned power, over the noise's
    for frame in range(power.shape[1]):  # bounded by the recording's length
        prior = SMOOTHING * cleaned + (1 - SMOOTHING) * np.maximum(posterior[:, frame] - 1, 0)
        prior = np.maximum(prior, floor**2)
        gains[:, frame] = np.maximum(prior / (1 + prior), floor)
        cleaned = gains[:, frame] ** 2 * posterior[:, frame]
    _, reduced = istft(spectra * gains, rate, nperseg=FRAME, noverlap=FRAME - HOP)
    return reduced[: len(samples)].astype(samples.dtype, copy=False)


def fitting_copy(speech: np.ndarray, room_tone: dict) -> tuple[np.ndarray, dict]:
    """The copy of a speaker's cleaned `speech` (16 kHz) that cloning measures and fits the voice on, given
    the room tone their profile keeps (`SpeakerFeatures.room_tone`, {} for none), and what the profile
    records of it: the floor and the gain's floor where the noise was reduced, {} where it was not."""
    if not room_tone:
        return speech, {}
    tone = RoomTone.from_dict(room_tone)
    reduced = reduce_noise(speech, SAMPLE_RATE, tone)
    if reduced is speech:
        return speech, {}
    return reduced, {"speech_to_floor_db": round(tone.speech_to_floor_db, 1), "gain_floor_db": GAIN_FLOOR_DB}
