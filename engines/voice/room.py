"""Room tone: the reference recording's own background, added under speech made in the cloned voice.

Synthesised speech is studio-clean; a reference recorded in a hall, on a phone or on an old broadcast
carries a noise floor the voice is heard through. Spoken over the person's own video, a clean voice
sounds dubbed, which is why film dubbing lays the set's room tone under new lines. The tone is
measured, not copied: the power spectrum of the reference's quietest frames and how far below the
speech they lie, and new noise is drawn with that spectrum at that level, so none of the
recording's own sounds (or words) reach the output. It is measured on the whole recording as
uploaded, pauses and all, when the voice is cloned: the cleaned clip has lost its silences, and its
quietest frames are then the speech's own quietest moments (on a studio voice-over 46 dB below its
speech, where the recording's silences lie 59 dB below).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engines import media
from engines.messages import gettext_noop
from engines.voice.analysis import SAMPLE_RATE

if TYPE_CHECKING:
    from engines.voice.speaker import SpeakerFeatures

FRAME_SECONDS = 0.02
# The quietest tenth of the recording's 20 ms frames is its floor (its pauses, and the silence before
# and after the speech). Noise varies from frame to frame, so the quietest of it reads a little low
# (by up to ~2.5 dB on a recording two thirds silence): the tone is never louder than the room was.
# Every frame within 3 dB of that tenth reads it truer on generated noise, but on real references it
# also takes in quiet speech: the tone came out 2-7 dB louder and cost words (bench_voice_room.py).
QUIET_SHARE = 0.1
MIN_QUIET_FRAMES = 10
# Speech is the frames within this much of the loud ones (the 95th percentile), however much of a
# recording is silence: the level the floor is measured against, and the new speech's.
ACTIVE_RANGE_DB = 20.0
# A floor this far below the speech is inaudible (a studio recording, or digital silence): nothing is added.
INAUDIBLE_DB = 70.0
# A recording noisier than this still gets its tone no closer under the new speech: the words come first.
LOUDEST_DB = 15.0


def _frames(samples: np.ndarray, frame: int) -> np.ndarray:
    """(count, frame) 20 ms frames, each without its mean: a DC offset is not a sound of the room
    (which is why this is not analysis.frame_levels, whose levels keep it for trimming silence)."""
    count = len(samples) // frame
    frames = samples[: count * frame].astype(np.float64).reshape(count, frame)
    return frames - frames.mean(1, keepdims=True)


def _frame_energies(samples: np.ndarray, frame: int) -> np.ndarray:
    return (_frames(samples, frame) ** 2).mean(1)


def speech_level(samples: np.ndarray, rate: int) -> float:
    """Mean power of the 20 ms frames that are speech (within ACTIVE_RANGE_DB of the loud ones)."""
    energies = _frame_energies(samples, int(rate * FRAME_SECONDS))
    if not len(energies):
        return 0.0
    return float(energies[energies >= np.percentile(energies, 95) / 10 ** (ACTIVE_RANGE_DB / 10)].mean())


@dataclass
class RoomTone:
    spectrum: np.ndarray  # power of the floor per frequency (a 20 ms frame's bins, 0 to rate / 2), relative to its peak
    speech_to_floor_db: float
    rate: int  # of the recording it was measured on

    @classmethod
    def measure(cls, reference: np.ndarray, rate: int) -> "RoomTone":
        """The floor of a reference recording (mono float samples at `rate`)."""
        frames = _frames(reference, int(rate * FRAME_SECONDS))
        if len(frames) < MIN_QUIET_FRAMES:
            raise ValueError(gettext_noop("a reference of {seconds:.2f} s is too short to measure its room tone", seconds=len(reference) / rate))
        energies = (frames**2).mean(1)
        quiet = frames[np.argsort(energies)[: max(MIN_QUIET_FRAMES, int(len(energies) * QUIET_SHARE))]]
        spectrum = (np.abs(np.fft.rfft(quiet * np.hanning(quiet.shape[1]), axis=1)) ** 2).mean(0)
        floor_power = float((quiet**2).mean())
        level = speech_level(reference, rate)
        ratio_db = INAUDIBLE_DB if floor_power <= 0 else float(np.clip(10 * np.log10(max(level, 1e-20) / floor_power), LOUDEST_DB, INAUDIBLE_DB))
        return cls(spectrum / max(float(spectrum.max()), 1e-30), ratio_db, rate)

    def as_dict(self) -> dict:
        return {"speech_to_floor_db": round(self.speech_to_floor_db, 2), "rate": self.rate,
                "spectrum": [float(f"{value:.4g}") for value in self.spectrum]}

    @classmethod
    def from_dict(cls, data: dict) -> "RoomTone":
        return cls(np.asarray(data["spectrum"], np.float64), float(data["speech_to_floor_db"]), int(data["rate"]))

    @property
    def audible(self) -> bool:
        return self.speech_to_floor_db < INAUDIBLE_DB

    def lays_anything_under(self, speech: np.ndarray, rate: int) -> bool:
        """Whether `under` changes `speech`: not for an inaudible room, nor for speech without a sound."""
        return self.audible and speech_level(speech, rate) > 0

    def noise(self, length: int, rate: int, seed: int | None = None) -> np.ndarray:
        """`length` samples at `rate` of noise with the floor's spectrum (nothing above the recording's
        band), at unit power; drawn anew on each call unless `seed` is given."""
        spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(length))
        measured = np.linspace(0, self.rate / 2, len(self.spectrum))
        spectrum *= np.sqrt(np.interp(np.fft.rfftfreq(length, 1 / rate), measured, self.spectrum, right=0.0))
        noise = np.fft.irfft(spectrum, length)
        return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)

    def under(self, speech: np.ndarray, rate: int, seed: int | None = None) -> np.ndarray:
        """`speech` (float samples at `rate`) with the tone laid under it, as far below its own speech as
        the floor was below the reference's."""
        if not self.lays_anything_under(speech, rate):
            return speech
        floor = self.noise(len(speech), rate, seed) * np.sqrt(speech_level(speech, rate) / 10 ** (self.speech_to_floor_db / 10))
        return np.clip(speech + floor, -1, 1).astype(np.float32)


def room_tone_of(speaker: "SpeakerFeatures", recording: Path | None) -> RoomTone | None:
    """The tone measured when the voice was cloned; for a voice cloned before that, measured now on
    its `recording` as uploaded while that is kept and readable (None without it: the cleaned clip
    has lost the silences the floor is read from)."""
    if speaker.room_tone:
        return RoomTone.from_dict(speaker.room_tone)
    if recording is None or not Path(recording).is_file():
        return None
    try:
        return RoomTone.measure(media.load_declared_audio(recording, SAMPLE_RATE), SAMPLE_RATE)
    except ValueError:  # media.MediaError (no longer decodes) or too short: speak without it
        return None


def lay_room_tone(speech_path: Path, tone: RoomTone, rate: int) -> bool:
    """Rewrite the speech at `speech_path` (a WAV at `rate`) with `tone` under it; False (and the file
    untouched) when the tone lays nothing under it."""
    speech = media.load_audio(speech_path, rate)
    laid = tone.under(speech, rate)
    if laid is speech:
        return False
    media.write_wav(speech_path, laid, rate)
    return True
