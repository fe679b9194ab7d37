"""The modulation-spectrum match applied after the voice conversion (engines.voice.modulation)."""
from __future__ import annotations

import numpy as np
import pytest

from engines.voice.fitted import _smooth
from engines.voice.modulation import MAX_GAIN, WINDOW, match_modulation, modulation_spectrum


def trajectories(seed: int = 0, frames: int = 700) -> np.ndarray:
    """Mel-cepstrum-like trajectories: slow drifts with quick movement on top, about their own means."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(frames, 3)).cumsum(0) * 0.05 + rng.normal(size=(frames, 3)) * [0.3, 0.1, 0.5] + [1.0, -2.0, 0.5]


def fast_power(frames: np.ndarray) -> np.ndarray:
    """Per dimension, the power of the movement faster than about 25 Hz."""
    return modulation_spectrum(frames)[WINDOW // 8:].sum(0)


def test_a_trajectory_matched_to_its_own_spectrum_comes_back_unchanged():
    frames = trajectories()
    np.testing.assert_allclose(match_modulation(frames, modulation_spectrum(frames), 1.0), frames, atol=1e-6)


def test_smoothed_trajectories_get_their_quick_movement_back_part_way_and_keep_their_mean():
    real = trajectories()
    averaged = _smooth(real)  # as the conversion smooths its frames
    target = modulation_spectrum(real)
    halfway, in_full = match_modulation(averaged, target, 0.5), match_modulation(averaged, target, 1.0)
    lost, half, full = (np.log(fast_power(frames) / fast_power(real)) for frames in (averaged, halfway, in_full))
    assert (lost < -1).all(), "the smoothing took the quick movement away"
    assert (np.abs(full) < np.abs(half)).all() and (np.abs(half) < np.abs(lost)).all()
    np.testing.assert_allclose(half, lost / 2, atol=0.3)  # halfway in log power, but where the fastest bins' gain is capped
    np.testing.assert_allclose(in_full.mean(0), averaged.mean(0), atol=1e-9)


def test_the_gain_is_capped_either_way():
    frames = trajectories()
    target = modulation_spectrum(frames)
    louder, quieter = match_modulation(frames, target * 100, 1.0), match_modulation(frames, target / 100, 1.0)
    spread = frames.std(0)
    np.testing.assert_allclose(louder.std(0) / spread, MAX_GAIN, rtol=0.05)
    np.testing.assert_allclose(quieter.std(0) / spread, 1 / MAX_GAIN, rtol=0.05)


def test_without_a_target_or_on_a_piece_shorter_than_the_window_nothing_changes():
    frames = trajectories()
    assert match_modulation(frames, np.zeros((0, 3), np.float32), 0.5) is frames
    short = frames[: WINDOW - 1]
    assert match_modulation(short, modulation_spectrum(frames), 0.5) is short
    assert modulation_spectrum(short).shape == (0, 3)
    with pytest.raises(ValueError, match="dimensions"):
        match_modulation(frames, modulation_spectrum(frames)[:, :2], 0.5)
