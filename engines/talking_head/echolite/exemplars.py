"""Real mouths of the training clip, looked up by shape: the painter copies teeth and lip texture.

For each frame the network also sees the real training mouth whose landmarks are nearest to the
shape it must draw, so teeth and lip edges come from real pixels instead of an average.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_EXEMPLARS = 256
# In training, a frame's own neighbours are not offered as its exemplar: it must not copy itself.
MIN_TIME_GAP = 12


def centred(shapes: np.ndarray) -> np.ndarray:
    """(N, 40) mouth shapes without their position (pose jitter is not a different mouth)."""
    shapes = np.asarray(shapes, np.float32)
    return (shapes - shapes.mean(axis=1, keepdims=True)).reshape(len(shapes), -1)


@dataclass
class MouthExemplars:
    crops: np.ndarray  # (K, CROP, CROP, 3) uint8
    shapes: np.ndarray  # (K, 20, 2) crop-space mouth points
    frames: np.ndarray  # (K,) frame index each came from

    @classmethod
    def choose(cls, crops: np.ndarray, shapes: np.ndarray, limit: int = MAX_EXEMPLARS) -> "MouthExemplars":
        """Frames spread evenly over the clip (speech visits every mouth shape many times)."""
        frames = np.unique(np.linspace(0, len(crops) - 1, min(limit, len(crops))).round().astype(int))
        return cls(crops[frames].copy(), shapes[frames].astype(np.float32), frames)

    def nearest(self, shapes: np.ndarray, own_frames: np.ndarray | None = None) -> np.ndarray:
        """Index of the exemplar nearest to each shape; `own_frames` excludes exemplars close in time."""
        distances = ((centred(shapes)[:, None, :] - centred(self.shapes)[None]) ** 2).sum(-1)
        if own_frames is not None:
            distances[np.abs(np.asarray(own_frames)[:, None] - self.frames[None]) < MIN_TIME_GAP] = np.inf
        return distances.argmin(axis=1)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, crops=self.crops, shapes=self.shapes, frames=self.frames)

    @classmethod
    def load(cls, path: Path) -> "MouthExemplars":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["crops"], data["shapes"], data["frames"])
