"""Signal analysis shared by speaker extraction and voice conversion (WORLD via pyworld)."""
from __future__ import annotations

import numpy as np
import pyworld

SAMPLE_RATE = 16000
FRAME_PERIOD_MS = 5.0
ENVELOPE_BANDS = 40
TARGET_RMS_DBFS = -20.0
PEAK_LIMIT = 0.95
SILENCE_DB_BELOW_PEAK = 40.0
SPEECH_FLOOR_DBFS = -60.0  # quieter frames are silence, however quiet the rest of the recording
LONGEST_PAUSE = 0.3  # seconds kept of an inner pause


def frame_levels(samples: np.ndarray, frame: int = 320) -> np.ndarray:
    """dBFS level of consecutive 20 ms frames."""
    count = len(samples) // frame
    if count == 0:
        return np.full(1, -100.0)
    frames = samples[: count * frame].reshape(count, frame)
    return 10 * np.log10((frames.astype(np.float64) ** 2).mean(1) + 1e-12)


def clean_speech(samples: np.ndarray, frame: int = 320) -> np.ndarray:
    """Silence trimmed (ends) and shortened (long inner pauses), loudness normalised, peaks limited."""
    levels = frame_levels(samples, frame)
    speaking = levels > max(levels.max() - SILENCE_DB_BELOW_PEAK, SPEECH_FLOOR_DBFS)
    if not speaking.any():
        return np.zeros(0, dtype=np.float32)
    first, last = np.flatnonzero(speaking)[[0, -1]]
    keep, quiet_run = [], 0
    max_quiet = int(LONGEST_PAUSE * SAMPLE_RATE / frame)
    for index in range(first, last + 1):
        quiet_run = 0 if speaking[index] else quiet_run + 1
        if quiet_run <= max_quiet:
            keep.append(samples[index * frame: (index + 1) * frame])
    speech = np.concatenate(keep).astype(np.float64)
    voiced_rms = np.sqrt(np.mean(speech**2) + 1e-12)
    speech *= 10 ** (TARGET_RMS_DBFS / 20) / voiced_rms
    peak = np.abs(speech).max()
    if peak > PEAK_LIMIT:
        speech *= PEAK_LIMIT / peak
    return speech.astype(np.float32)


DIO_F0_FLOOR = 71.0  # WORLD's default: DIO takes a voice below it for unvoiced


def _f0(signal: np.ndarray, rate: int, f0_floor: float = DIO_F0_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """WORLD's F0 track (DIO refined by StoneMask) and its frame times."""
    f0, times = pyworld.dio(signal, rate, f0_floor=f0_floor, frame_period=FRAME_PERIOD_MS)
    return pyworld.stonemask(signal, f0, times, rate), times


def world_analysis(samples: np.ndarray, rate: int = SAMPLE_RATE, f0_floor: float = DIO_F0_FLOOR) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f0, spectral envelope, aperiodicity) frames of WORLD."""
    signal = np.ascontiguousarray(samples, dtype=np.float64)
    f0, times = _f0(signal, rate, f0_floor)
    envelope = pyworld.cheaptrick(signal, f0, times, rate, f0_floor=f0_floor)
    # at the envelope's size, which the floor sets: they are synthesized together
    aperiodicity = pyworld.d4c(signal, f0, times, rate, fft_size=pyworld.get_cheaptrick_fft_size(rate, f0_floor))
    return f0, envelope, aperiodicity


def f0_statistics(samples: np.ndarray) -> dict | None:
    f0, _ = _f0(np.ascontiguousarray(samples, dtype=np.float64), SAMPLE_RATE)
    voiced = f0[f0 > 0]
    if len(voiced) < 20:
        return None
    semitones = 12 * np.log2(voiced)
    return {
        "mean": round(float(np.exp(np.log(voiced).mean())), 2),
        "std_semitones": round(float(semitones.std()), 3),
        "low": round(float(np.percentile(voiced, 5)), 2),
        "high": round(float(np.percentile(voiced, 95)), 2),
    }


def _band_edges(bins: int, rate: int = SAMPLE_RATE) -> np.ndarray:
    mel = lambda hz: 2595 * np.log10(1 + hz / 700)  # noqa: E731
    hz = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges_hz = hz(np.linspace(mel(60), mel(rate / 2 - 200), ENVELOPE_BANDS + 1))
    return np.clip((edges_hz / (rate / 2) * (bins - 1)).round().astype(int), 0, bins - 1)


def envelope_bands(envelope: np.ndarray) -> np.ndarray:
    """(frames, ENVELOPE_BANDS) mean log power of a WORLD envelope in mel-spaced bands."""
    edges = _band_edges(envelope.shape[1])
    log_envelope = np.log(envelope + 1e-12)
    return np.stack([log_envelope[:, lo: max(hi, lo + 1)].mean(1) for lo, hi in zip(edges[:-1], edges[1:])], axis=1)


def bands_to_bins(bands: np.ndarray, bins: int) -> np.ndarray:
    """Interpolate per-band values to every frequency bin (for filtering an envelope)."""
    edges = _band_edges(bins)
    centres = (edges[:-1] + edges[1:]) / 2
    return np.interp(np.arange(bins), centres, bands)


def warp_envelope(envelope: np.ndarray, factor: float) -> np.ndarray:
    """Formants moved up by `factor` (a shorter vocal tract), down when below 1."""
    bins = np.arange(envelope.shape[-1])
    source = np.clip(bins / factor, 0, envelope.shape[-1] - 1)
    return np.stack([np.interp(source, bins, frame) for frame in np.atleast_2d(envelope)])


def mean_envelope(samples: np.ndarray) -> np.ndarray:
    f0, envelope, _ = world_analysis(samples)
    voiced = f0 > 0
    if not voiced.any():
        return np.zeros(ENVELOPE_BANDS)
    return envelope_bands(envelope[voiced]).mean(0)
