"""How far a recording's audio is shifted against its mouth movement.

Phones, screen captures and re-encodes often shift the audio by a few frames. A model that reads a
short window of sound around each frame cannot learn from such a clip unless the shift is found and
undone first. The lip opening follows the loudness of speech, so the lag that best correlates the
two is the shift.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_DELAY_FRAMES = 15  # +-0.6 s at 25 fps
# The peak must stand out from the correlation at other lags, or the shift is not trusted.
MIN_PEAK_CORRELATION = 0.15
MIN_PEAK_PROMINENCE = 0.06


@dataclass
class AudioDelay:
    frames: int  # > 0: the sound comes this many frames after the mouth that makes it
    correlation: float  # lip opening vs loudness at that lag
    found: bool  # False: no clear peak; frames is then 0 and nothing is corrected

    @property
    def seconds(self) -> float:
        return self.frames / 25.0

    def as_dict(self) -> dict:
        return {"audio_delay_frames": self.frames, "audio_delay_correlation": round(self.correlation, 3),
                "audio_delay_found": self.found}

    def warning(self) -> str:
        if self.found:
            return ""
        return ("the audio could not be matched to the mouth movement (no clear lip/speech correlation within "
                f"+-{MAX_DELAY_FRAMES / 25:.1f} s): the lips may lag or lead the sound")


def lagged_correlation(a: np.ndarray, b: np.ndarray, lag: int) -> float:
    """Correlation of a[t] with b[t + lag]."""
    x = a[max(0, -lag): len(a) - max(0, lag)]
    y = b[max(0, lag): len(b) - max(0, -lag)]
    if len(x) < 4 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[float, int]:
    """(correlation, lag) maximising corr(a[t], b[t + lag]) for |lag| <= max_lag."""
    scores = [(lagged_correlation(a, b, lag), lag) for lag in range(-max_lag, max_lag + 1)]
    return max(scores, key=lambda item: (item[0], -abs(item[1])))


def estimate_audio_delay(opening: np.ndarray, energy: np.ndarray, max_frames: int = MAX_DELAY_FRAMES) -> AudioDelay:
    """The shift of the sound against the lips: lip opening at t against loudness at t + delay."""
    opening = np.asarray(opening, np.float64)
    loudness = np.maximum(np.asarray(energy, np.float64), np.percentile(energy, 10))  # silence floor: no noise detail
    scores = np.array([lagged_correlation(opening, loudness, lag) for lag in range(-max_frames, max_frames + 1)])
    peak = int(np.argmax(scores))
    correlation = float(scores[peak])
    prominence = correlation - float(np.median(scores))
    if correlation < MIN_PEAK_CORRELATION or prominence < MIN_PEAK_PROMINENCE:
        return AudioDelay(0, correlation, False)
    return AudioDelay(peak - max_frames, correlation, True)
