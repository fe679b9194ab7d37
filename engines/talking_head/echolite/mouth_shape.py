"""Speech -> mouth shape: the 20 dlib mouth points in crop space, predicted from Whisper states.

Splitting the model in two keeps each half easy to learn from one short clip: a ridge regression
maps what is said to where the lips are (closed form, seconds to fit), and the image network only
has to draw a given mouth shape in this person's texture, which it learns sharply because the
shape is no longer ambiguous to it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engines.talking_head.echolite.alignment import MOUTH

OUTER_LIP = list(range(0, 12))  # of the 20 mouth points: 48..59
INNER_LIP = list(range(12, 20))  # 60..67
POOL = 2  # neighbouring encoder states averaged: 0.04 s resolution is plenty for lip shapes
ALPHAS = (1.0, 10.0, 100.0, 1000.0, 10000.0)
VALIDATION_SHARE = 0.15
SMOOTH = np.array([0.25, 0.5, 0.25])
# Ridge regression pulls its predictions towards the average mouth: on the held-out tail of a real
# clip they moved 0.58x as far as the real lips, and less still when another voice drives them, so
# the mouth mumbled (driven by the TTS voice, lip opening against loudness r 0.16; the real video's
# own 0.38). Predictions are spread back out from the average mouth by the ratio of real to
# predicted spread on the validation frames, at most MAX_GAIN (on the Obama clip the fit chose 1.42:
# TTS-driven r 0.24 -> 0.40, own-audio figures unchanged).
MAX_GAIN = 2.0


def flatten(windows: np.ndarray) -> np.ndarray:
    """(N, STATE_SIZE, CONTEXT) normalised windows -> (N, features)."""
    count, size, context = windows.shape
    return windows.reshape(count, size, context // POOL, POOL).mean(-1).reshape(count, -1).astype(np.float32)


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Weights (features, outputs) of ridge regression, solved in whichever space is smaller: the
    samples' for a short clip, the features' once it has more frames than features (about 4 minutes),
    where the samples' Gram matrix would grow with the square of its length (4.5 GB for ten minutes)."""
    if len(x) <= x.shape[1]:
        gram = x @ x.T
        gram[np.diag_indices_from(gram)] += alpha
        return x.T @ np.linalg.solve(gram, y)
    gram = x.T @ x
    gram[np.diag_indices_from(gram)] += alpha
    return np.linalg.solve(gram, x.T @ y)


@dataclass
class MouthShapePredictor:
    weights: np.ndarray  # (features, 40)
    feature_mean: np.ndarray
    shape_mean: np.ndarray  # (40,)
    alpha: float
    validation_r: float  # correlation of predicted and real lip opening on the last training frames
    gain: float = 1.0  # predictions are spread from shape_mean by this much (see MAX_GAIN)

    @classmethod
    def fit(cls, windows: np.ndarray, shapes: np.ndarray) -> "MouthShapePredictor":
        """`windows` normalised (N, STATE_SIZE, CONTEXT); `shapes` (N, 20, 2) crop-space mouth points."""
        x = flatten(windows)
        y = shapes.reshape(len(shapes), -1).astype(np.float32)
        split = int(len(x) * (1 - VALIDATION_SHARE))
        best = None
        for alpha in ALPHAS:
            predicted = cls._fit(x[:split], y[:split], alpha, 0.0).predict_flat(x[split:])
            score = opening_correlation(predicted, y[split:])
            if best is None or score > best[0]:
                best = (score, alpha, float(np.clip(_spread(y[split:]) / max(_spread(predicted), 1e-6), 1.0, MAX_GAIN)))
        score, alpha, gain = best
        return cls._fit(x, y, alpha, score, gain)

    @classmethod
    def _fit(cls, x: np.ndarray, y: np.ndarray, alpha: float, validation_r: float, gain: float = 1.0) -> "MouthShapePredictor":
        feature_mean, shape_mean = x.mean(0), y.mean(0)
        weights = _ridge(x - feature_mean, y - shape_mean, alpha).astype(np.float32)
        return cls(weights, feature_mean, shape_mean, alpha, validation_r, gain)

    def predict_flat(self, x: np.ndarray) -> np.ndarray:
        return self.gain * ((x - self.feature_mean) @ self.weights) + self.shape_mean

    def predict(self, windows: np.ndarray) -> np.ndarray:
        """(N, 20, 2) mouth points for normalised windows, smoothed over neighbouring frames."""
        return self.smoothed(self.predict_flat(flatten(windows)))

    @staticmethod
    def smoothed(flat: np.ndarray) -> np.ndarray:
        """(N, 40) predicted points smoothed over neighbouring frames, as (N, 20, 2)."""
        if len(flat) >= len(SMOOTH):
            padded = np.concatenate([flat[:1], flat, flat[-1:]])
            flat = sum(weight * padded[index: index + len(flat)] for index, weight in enumerate(SMOOTH))
        return flat.reshape(len(flat), -1, 2)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, weights=self.weights, feature_mean=self.feature_mean, shape_mean=self.shape_mean,
                            alpha=self.alpha, validation_r=self.validation_r, gain=self.gain)

    @classmethod
    def load(cls, path: Path) -> "MouthShapePredictor":
        with np.load(path, allow_pickle=False) as data:
            gain = float(data["gain"]) if "gain" in data.files else 1.0  # models trained before the gain
            return cls(data["weights"], data["feature_mean"], data["shape_mean"], float(data["alpha"]), float(data["validation_r"]), gain)


def _spread(flat: np.ndarray) -> float:
    """Root-mean-square distance of mouth shapes from their mean."""
    return float(np.sqrt(((flat - flat.mean(0)) ** 2).sum(1).mean()))


def inner_opening(shapes: np.ndarray) -> np.ndarray:
    """(N,) inner-lip opening of (N, 20, 2) mouth shapes, or of (N, 40) flattened ones."""
    points = np.asarray(shapes).reshape(len(shapes), -1, 2)
    return np.linalg.norm(points[:, 18] - points[:, 14], axis=1)  # inner lip bottom (66) - top (62)


def opening_correlation(predicted: np.ndarray, real: np.ndarray) -> float:
    """Correlation of inner-lip opening between two (N, 40) sets of flattened mouth shapes."""
    a, b = inner_opening(predicted), inner_opening(real)
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 1e-6 and b.std() > 1e-6 else 0.0  # a still mouth predicts nothing


def crop_space_mouths(tracks: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """(N, 20, 2) mouth landmarks moved into each frame's crop."""
    mouths = tracks[:, MOUTH].astype(np.float32)
    return np.einsum("nij,nkj->nki", transforms[:, :, :2], mouths) + transforms[:, None, :, 2]


def draw(shapes: np.ndarray, size: int) -> np.ndarray:
    """(N, 2, size, size) float32 masks: the lips (outer outline) and the mouth opening (inner outline)."""
    drawn = np.zeros((len(shapes), 2, size, size), np.uint8)
    scale = 4  # sub-pixel polygon edges
    for index, points in enumerate(shapes):
        fixed = np.round(points * scale).astype(np.int32)
        cv2.fillPoly(drawn[index, 0], [fixed[OUTER_LIP]], 255, cv2.LINE_AA, shift=2)
        cv2.fillPoly(drawn[index, 1], [fixed[INNER_LIP]], 255, cv2.LINE_AA, shift=2)
    return drawn.astype(np.float32) / 255.0
