"""Voice conversion toward a speaker with WORLD: F0 mapped to their statistics, formants shifted, envelope equalised."""
from __future__ import annotations

import numpy as np
import pyworld

from engines.voice.analysis import FRAME_PERIOD_MS, SAMPLE_RATE, bands_to_bins, envelope_bands, warp_envelope, world_analysis
from engines.voice.speaker import SpeakerFeatures

MAX_ENVELOPE_GAIN_DB = 12.0
# Vocal tract length differences between adults stay within about +-20 %.
WARP_FACTORS = np.round(np.arange(0.82, 1.2201, 0.02), 2)


def best_warp(source_mean_envelope: np.ndarray, target_bands: np.ndarray) -> float:
    """The formant shift that brings the source's mean envelope closest in shape to the target's."""
    target = np.asarray(target_bands) - np.mean(target_bands)

    def distance(factor: float) -> float:
        bands = envelope_bands(warp_envelope(source_mean_envelope, factor))[0]
        return float(np.mean((bands - bands.mean() - target) ** 2))

    return float(min(WARP_FACTORS, key=distance))


def map_f0(f0: np.ndarray, mean_hz: float, std_semitones: float, pitch_semitones: float = 0.0) -> np.ndarray:
    """Voiced F0 moved to a speaker's level and range (log-F0 mean and spread), `pitch_semitones` higher."""
    voiced = f0 > 0
    if voiced.sum() <= 5:
        return f0
    log_f0 = np.log(f0[voiced])
    target_mean = np.log(mean_hz) + pitch_semitones * np.log(2) / 12
    target_std = max(std_semitones, 0.5) * np.log(2) / 12
    mapped = f0.copy()
    mapped[voiced] = np.exp((log_f0 - log_f0.mean()) / max(log_f0.std(), 1e-3) * target_std + target_mean)
    return mapped


def convert(samples: np.ndarray, speaker: SpeakerFeatures, pitch_semitones: float = 0.0) -> np.ndarray:
    """`samples` (16 kHz) re-spoken with the speaker's pitch level, pitch range and spectral colour."""
    if len(samples) < SAMPLE_RATE // 20:
        return samples
    f0, envelope, aperiodicity = world_analysis(samples)
    voiced = f0 > 0
    if voiced.sum() > 5:
        f0 = map_f0(f0, speaker.f0_mean, speaker.f0_std_semitones, pitch_semitones)
        factor = best_warp(np.exp(np.log(envelope[voiced] + 1e-12).mean(0)), speaker.envelope)
        if factor != 1.0:
            envelope = warp_envelope(envelope, factor)
        source_bands = envelope_bands(envelope[voiced]).mean(0)
        gain = np.asarray(speaker.envelope) - source_bands
        gain -= gain.mean()  # colour only: loudness is normalised separately
        limit = MAX_ENVELOPE_GAIN_DB * np.log(10) / 10
        envelope = envelope * np.exp(np.clip(bands_to_bins(gain, envelope.shape[1]), -limit, limit))[None, :]
    converted = pyworld.synthesize(f0, np.ascontiguousarray(envelope), np.ascontiguousarray(aperiodicity), SAMPLE_RATE, FRAME_PERIOD_MS)
    converted = converted[: len(samples)]
    scale = np.sqrt(np.mean(samples.astype(np.float64) ** 2) + 1e-12) / np.sqrt(np.mean(converted**2) + 1e-12)
    return np.clip(converted * scale, -1, 1).astype(np.float32)


LOW_VOICE_F0_FLOOR = 50.0


def shift_pitch(samples: np.ndarray, semitones: float) -> np.ndarray:
    """The same voice, `semitones` higher (or lower when negative)."""
    if not semitones or len(samples) < SAMPLE_RATE // 20:
        return samples
    # Tracked down to 50 Hz: the default voice (Kokoro's men's voice, about 85 Hz) dips below DIO's 71 Hz, and
    # frames taken for unvoiced kept their pitch: asked 3 semitones lower, a short sentence came out 1 lower.
    f0, envelope, aperiodicity = world_analysis(samples, f0_floor=LOW_VOICE_F0_FLOOR)
    shifted = pyworld.synthesize(f0 * 2 ** (semitones / 12), envelope, aperiodicity, SAMPLE_RATE, FRAME_PERIOD_MS)
    return np.clip(shifted[: len(samples)], -1, 1).astype(np.float32)
