"""How fast a voice's spectral envelope moves: the modulation spectrum of its trajectories, and matching it.

The conversion averages real frames of the speaker (the pull towards the nearest ones) and smooths
them over time. Averaging frames chosen one at a time takes away part of the quick movement of each
mel-cepstral dimension from one sound into the next, and the global-variance step gives back only the
total spread, not how it is shared out between slow and fast movement. So, per dimension, the power of
its trajectory's short-time spectrum (over WINDOW frames, the modulation spectrum) is moved towards
the speaker's own, measured on the reference at clone time: the modulation-spectrum postfilter of
statistical speech synthesis (Takamichi et al., 2014), applied to the converted envelope.
"""
from __future__ import annotations

import numpy as np

WINDOW = 64  # 5 ms frames: 0.32 s, modulation frequencies 0-100 Hz in steps of 3.1 Hz
HOP = WINDOW // 2
MAX_GAIN = 2.0  # per modulation frequency and dimension, either way
# Square root of a periodic Hann window, used for both analysis and synthesis: their product, a Hann
# window, sums to one at half-window steps, so a trajectory is rebuilt exactly where nothing changes.
_TAPER = np.sqrt(np.hanning(WINDOW + 1)[:WINDOW])


def _pieces(trajectories: np.ndarray) -> tuple[np.ndarray, range, int]:
    """Tapered overlapping pieces of `trajectories` (T, D), mirrored at both ends; their starts and the padded length."""
    padded = np.pad(trajectories, ((HOP, HOP + WINDOW), (0, 0)), mode="reflect")
    starts = range(0, len(trajectories) + HOP, HOP)
    return np.stack([padded[start: start + WINDOW] * _TAPER[:, None] for start in starts]), starts, len(padded)


def modulation_spectrum(trajectories: np.ndarray) -> np.ndarray:
    """(WINDOW // 2 + 1, D) mean power of the short-time spectra of each dimension's trajectory about its mean;
    (0, D) for trajectories shorter than WINDOW, too short to measure."""
    trajectories = np.asarray(trajectories, np.float64)
    if len(trajectories) < WINDOW:
        return np.zeros((0, trajectories.shape[1]), np.float32)
    pieces, _, _ = _pieces(trajectories - trajectories.mean(0))
    return (np.abs(np.fft.rfft(pieces, axis=1)) ** 2).mean(0).astype(np.float32)


def match_modulation(trajectories: np.ndarray, target: np.ndarray, share: float) -> np.ndarray:
    """`trajectories` (T, D) with each dimension's modulation spectrum moved `share` of the way
    (geometrically; the gain after the share is capped at MAX_GAIN in amplitude either way) to `target`
    (a `modulation_spectrum` of the same dimensions), its mean kept. Unchanged when there is no target
    or the trajectories are shorter than WINDOW."""
    if share == 0 or len(target) == 0 or len(trajectories) < WINDOW:
        return trajectories
    if target.shape != (WINDOW // 2 + 1, trajectories.shape[1]):
        raise ValueError(f"a modulation spectrum of shape {target.shape} for {trajectories.shape[1]} dimensions")
    mean = trajectories.mean(0)
    pieces, starts, length = _pieces(np.asarray(trajectories, np.float64) - mean)
    spectra = np.fft.rfft(pieces, axis=1)
    own = (np.abs(spectra) ** 2).mean(0)
    gain = np.clip((target / (own + 1e-12)) ** (share / 2), 1 / MAX_GAIN, MAX_GAIN)
    rebuilt = np.fft.irfft(spectra * gain[None], n=WINDOW, axis=1) * _TAPER[None, :, None]
    summed = np.zeros((length, trajectories.shape[1]))
    for start, piece in zip(starts, rebuilt):
        summed[start: start + WINDOW] += piece
    movement = summed[HOP: HOP + len(trajectories)]
    return (mean + movement - movement.mean(0)).astype(trajectories.dtype)
