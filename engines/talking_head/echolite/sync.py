"""How far a recording's audio is shifted against its mouth movement.

Phones, screen captures and re-encodes often shift the audio by a few frames. A model that reads a
short window of sound around each frame cannot learn from such a clip unless the shift is found and
undone first. Two measures find it:
- loudness: the lip opening follows the loudness of speech, so the lag that best correlates the two
  is the shift. Its peak is sharp, but it can lock onto the rhythm of the speech instead: on a real
  60 s clip (HDTF, in sync to within a frame by its bilabial closures, see bench_echolite) it peaked
  at +9 frames, and a model trained with that shift learned little (its speech -> shape fit r 0.32).
- speech content: a speech -> mouth-shape ridge regression, as the model fits it, cross-validated at
  each lag. What is said predicts the mouth best when the two are aligned, and the speech's rhythm
  does not fool it (the same clip: r 0.48 at -1 against 0.39 at +9). Its peak sits a little early:
  the model's own shape fit, trained at each lag, validated best 0-1 frames after it on that clip and
  1-2 frames after it on the Obama clip (bench_echolite.py --delay-sweep), hence CONTENT_LEAD_FRAMES.
Where the content fit has a clear peak it sets the shift, since it is what the model learns from: on the
Obama clip loudness said +5, and the shape fit trained there followed the unseen tail's lips at r 0.70
against 0.73-0.74 at +3 and +4. Loudness sets it where the content has no clear peak (a mouth that
only opens with the loudness, as on the generated test face, or too little speech).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engines.messages import Message, gettext_noop
from engines.talking_head.echolite import features
from engines.talking_head.echolite.mouth_shape import POOL, opening_correlation

MAX_DELAY_FRAMES = 15  # +-0.6 s at 25 fps
# The peak must stand out from the correlation at other lags, or the shift is not trusted.
MIN_PEAK_CORRELATION = 0.15
MIN_PEAK_PROMINENCE = 0.06
CONTENT_LEAD_FRAMES = 1
# The content fit must stand out too: on the generated test face, whose mouth opens with the loudness
# alone, it is nearly flat over 10 frames (peak 0.77, median 0.71), and a still mouth predicts nothing
# (the real clips: 0.51 / 0.21 and 0.48 / 0.26).
MIN_CONTENT_CORRELATION = 0.2
MIN_CONTENT_PROMINENCE = 0.15
CONTENT_COMPONENTS = 64  # principal components of the speech states: a fit per lag and fold in milliseconds
CONTENT_FOLDS = 5
# The ridge's strength. At 100 the fit chased noise and the curve had a second peak as high as the
# true one 8-9 frames away: the whole Obama clip's training frames gave +11 (0.51 against 0.49 at
# 0-1), a re-encoded first 80 % of the HDTF clip +7, where their bilabial closures say 3-4 and 0.
# From 300 to 3000 the four cases (either clip whole or its first 80 %) gave +2, +3, +1, +1 to +2.
CONTENT_ALPHA = 1000.0
CONTENT_MAX_FRAMES = 1500  # the first minute is plenty to find a shift, and bounds the time it takes
BASIS_NAMES = {"loudness": gettext_noop("loudness"), "speech content": gettext_noop("speech content")}


@dataclass
class AudioDelay:
    frames: int  # > 0: the sound comes this many frames after the mouth that makes it
    correlation: float  # lip opening vs loudness at that lag
    found: bool  # False: no clear peak; frames is then 0 and nothing is corrected
    basis: str = "loudness"  # or "speech content": which measure set the shift (see the module's note)

    @property
    def seconds(self) -> float:
        return self.frames / 25.0

    def as_dict(self) -> dict:
        return {"audio_delay_frames": self.frames, "audio_delay_correlation": round(self.correlation, 3),
                "audio_delay_found": self.found, "audio_delay_basis": self.basis}

    def note(self) -> Message:
        """The training log's line on the shift: what was found, or the warning that nothing was."""
        if not self.found:
            return gettext_noop("warning: {warning}", warning=self.warning())
        return gettext_noop("audio delay {frames:+d} frames (by {basis}; lip/loudness r {correlation:.2f})",
                            frames=int(self.frames), basis=BASIS_NAMES[self.basis], correlation=float(self.correlation))

    def warning(self) -> str:
        if self.found:
            return ""
        return gettext_noop("the audio could not be matched to the mouth movement (no clear lip/speech correlation within "
                            "+-{seconds:.1f} s): the lips may lag or lead the sound", seconds=MAX_DELAY_FRAMES / 25)


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


def estimate_audio_delay(opening: np.ndarray, energy: np.ndarray, content: np.ndarray | None = None,
                         max_frames: int = MAX_DELAY_FRAMES) -> AudioDelay:
    """The shift of the sound against the lips: `content` (`content_fit`'s correlation per lag,
    -max_frames..max_frames) where given and clear, else the lag of loudness at t + delay that best
    follows lip opening at t."""
    opening = np.asarray(opening, np.float64)
    loudness = np.maximum(np.asarray(energy, np.float64), np.percentile(energy, 10))  # silence floor: no noise detail
    scores = np.array([lagged_correlation(opening, loudness, lag) for lag in range(-max_frames, max_frames + 1)])
    peak = int(np.argmax(scores))
    correlation = float(scores[peak])
    loudness_found = correlation >= MIN_PEAK_CORRELATION and correlation - float(np.median(scores)) >= MIN_PEAK_PROMINENCE
    content_found = (content is not None and float(np.max(content)) >= MIN_CONTENT_CORRELATION
                     and float(np.max(content) - np.median(content)) >= MIN_CONTENT_PROMINENCE)
    if content_found:
        delay = int(np.clip(np.argmax(content) - max_frames + CONTENT_LEAD_FRAMES, -max_frames, max_frames))
        return AudioDelay(delay, float(scores[delay + max_frames]), True, "speech content")
    if loudness_found:
        return AudioDelay(peak - max_frames, correlation, True)
    return AudioDelay(0, correlation, False)


def content_fit(states: np.ndarray, mouths: np.ndarray, frames: np.ndarray, fps: float,
                max_frames: int = MAX_DELAY_FRAMES) -> np.ndarray:
    """Cross-validated correlation of predicted with real lip opening, for a speech -> mouth-shape ridge
    regression fitted with the sound shifted by each lag -max_frames..max_frames.

    `states`: Whisper speech states of the whole audio; `mouths`: (N, 20, 2) mouth points in crop space
    for the video frames at indices `frames` (those where a face was really found)."""
    frames = np.asarray(frames)[:CONTENT_MAX_FRAMES]
    shapes = mouths[: len(frames)].reshape(len(frames), -1).astype(np.float64)
    centred = states.astype(np.float64) - states.mean(0)
    _, spread, axes = np.linalg.svd(centred, full_matrices=False)
    components = min(CONTENT_COMPONENTS, len(spread))
    reduced = (centred @ axes[:components].T / np.maximum(spread[:components], 1e-9) * np.sqrt(len(states))).astype(np.float32)
    count = int(frames.max()) + 1
    folds = np.array_split(np.arange(len(frames)), CONTENT_FOLDS)
    scores = []
    for lag in range(-max_frames, max_frames + 1):
        windows = features.frame_windows(reduced, count, fps, lag)[frames]
        x = windows.reshape(len(frames), components, -1, POOL).mean(-1).reshape(len(frames), -1).astype(np.float64)
        x -= x.mean(0)
        gram = x @ x.T  # ridge in the frames' space: one product per lag serves every fold
        predicted = np.empty_like(shapes)
        for fold in folds:
            train = np.setdiff1d(np.arange(len(frames)), fold)
            y_mean = shapes[train].mean(0)
            weights = np.linalg.solve(gram[np.ix_(train, train)] + CONTENT_ALPHA * np.eye(len(train)), shapes[train] - y_mean)
            predicted[fold] = gram[np.ix_(fold, train)] @ weights + y_mean
        scores.append(opening_correlation(predicted, shapes))
    return np.array(scores)
