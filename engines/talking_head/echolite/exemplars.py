"""Real mouths of the training clip, looked up by shape: the painter copies teeth and lip texture.

For each frame the network also sees the real training mouth whose landmarks are nearest to the
shape it must draw, so teeth and lip edges come from real pixels instead of an average. The
network still paints them soft; at render time the fine detail of that real mouth, warped so its
lips lie on the drawn shape, is added back (see MouthModel.predict).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

MAX_EXEMPLARS = 256
# In training, a frame's own neighbours are not offered as its exemplar: it must not copy itself.
MIN_TIME_GAP = 12
# The warp moves pixels near the mouth points smoothly (Gaussian radial basis, this share of the
# crop) and leaves the crop's border where it is; its field is solved on a grid this much coarser.
WARP_REACH = 0.125
WARP_GRID_STEP = 4
BORDER_ANCHORS = 7


def _warp_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(points on the crop's border that stay, the coordinates of the coarse grid the warp's field is solved on)."""
    edge = np.linspace(0, size - 1, BORDER_ANCHORS, dtype=np.float32)
    border = np.array([(x, y) for x in edge for y in edge if x in (edge[0], edge[-1]) or y in (edge[0], edge[-1])], np.float32)
    coarse = np.arange(0, size + WARP_GRID_STEP, WARP_GRID_STEP, dtype=np.float32)
    return border, coarse


def warp(images: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(B, S, S, C) square crops, each deformed so that what lies at its `sources` points comes to its `targets` points."""
    count, size = len(images), images.shape[1]
    border, coarse = _warp_grid(size)
    grid = np.stack(np.meshgrid(coarse, coarse), -1).reshape(-1, 2)
    targets = np.asarray(targets, np.float32)
    anchors = np.concatenate([targets, np.broadcast_to(border, (count, *border.shape))], 1)
    shifts = np.concatenate([np.asarray(sources, np.float32) - targets, np.zeros((count, *border.shape), np.float32)], 1)
    reach = 2 * (WARP_REACH * size) ** 2

    def basis(points: np.ndarray) -> np.ndarray:
        dx = points[..., :, None, 0] - anchors[:, None, :, 0]
        dy = points[..., :, None, 1] - anchors[:, None, :, 1]
        return np.exp(-(dx * dx + dy * dy) / reach)

    weights = np.linalg.solve(basis(anchors) + 1e-3 * np.eye(anchors.shape[1], dtype=np.float32), shifts)
    side = len(coarse)
    fields = (basis(grid) @ weights).reshape(count, side, side, 2).astype(np.float32)
    span = (side - 1) * WARP_GRID_STEP
    pixels = np.arange(size, dtype=np.float32)
    warped = np.empty_like(images)
    for index, (image, field) in enumerate(zip(images, fields)):
        field = cv2.resize(field, (span + 1, span + 1), interpolation=cv2.INTER_LINEAR)[:size, :size]
        warped[index] = cv2.remap(image, field[..., 0] + pixels[None, :], field[..., 1] + pixels[:, None], cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    return warped


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

    def warped(self, chosen: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """(B, CROP, CROP, 3) exemplar crops `chosen`, each warped so its mouth lies on its shape in `shapes`."""
        return warp(self.crops[chosen], self.shapes[chosen], shapes)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, crops=self.crops, shapes=self.shapes, frames=self.frames)

    @classmethod
    def load(cls, path: Path) -> "MouthExemplars":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["crops"], data["shapes"], data["frames"])
