"""Pose-normalised lower-face crops: landmarks -> similarity transform -> fixed-size crop, and back."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CROP = 96
# Points that do not move when the mouth does: jaw top, nose, eye corners.
STABLE = [0, 16, 27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45]
JAW = list(range(2, 15))
NOSE_BOTTOM = [31, 32, 33, 34, 35]
MOUTH = list(range(48, 68))


def to_unit_frame(points: np.ndarray) -> np.ndarray:
    """Landmarks moved so the eyes' centre is the origin, the eyes level and 1 apart."""
    left, right = points[36:42].mean(0), points[42:48].mean(0)
    center, delta = (left + right) / 2, right - left
    scale = np.linalg.norm(delta)
    angle = np.arctan2(delta[1], delta[0])
    rotation = np.array([[np.cos(-angle), -np.sin(-angle)], [np.sin(-angle), np.cos(-angle)]])
    return ((points - center) @ rotation.T) / scale


@dataclass
class Template:
    """Where the stable points and the mouth sit in crop space, learned from one person's video."""

    stable: np.ndarray  # (len(STABLE), 2) crop-space targets
    mean_shape: np.ndarray  # (68, 2) crop-space mean landmarks

    @classmethod
    def fit(cls, tracks: np.ndarray) -> "Template":
        unit = np.stack([to_unit_frame(points) for points in tracks]).mean(0)
        lower = unit[JAW + NOSE_BOTTOM]
        left, top = lower.min(0)
        right, bottom = lower.max(0)
        top = unit[NOSE_BOTTOM, 1].min() - 0.15  # a little above the nostrils: the upper lip moves too
        side = max(right - left, bottom - top) * 1.15
        offset = np.array([(left + right) / 2, (top + bottom) / 2]) - side / 2
        crop_space = (unit - offset) * (CROP / side)
        return cls(stable=crop_space[STABLE].astype(np.float32), mean_shape=crop_space.astype(np.float32))

    def to_dict(self) -> dict:
        return {"stable": self.stable.tolist(), "mean_shape": self.mean_shape.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "Template":
        return cls(np.array(data["stable"], np.float32), np.array(data["mean_shape"], np.float32))

    def mouth_mask(self) -> tuple[np.ndarray, np.ndarray]:
        """(hard mask the network must fill, feathered mask used for blending), both (CROP, CROP) float32."""
        shape = self.mean_shape
        region = np.concatenate([shape[JAW], shape[[35, 34, 33, 32, 31]]]).astype(np.int32)
        hard = np.zeros((CROP, CROP), np.uint8)
        cv2.fillPoly(hard, [cv2.convexHull(region)], 1)
        hard = cv2.dilate(hard, np.ones((5, 5), np.uint8))
        soft = cv2.erode(hard, np.ones((7, 7), np.uint8)).astype(np.float32)
        soft = cv2.GaussianBlur(soft, (0, 0), 3.0)
        return hard.astype(np.float32), soft


def crop_transforms(tracks: np.ndarray, template: Template, smooth_radius: int = 2) -> np.ndarray:
    """(N, 2, 3) frame -> crop matrices, smoothed over time so the crop does not jitter."""
    params = np.empty((len(tracks), 4), dtype=np.float64)
    for index, points in enumerate(tracks):
        matrix, _ = cv2.estimateAffinePartial2D(points[STABLE], template.stable, method=cv2.LMEDS)
        if matrix is None:
            matrix = params_to_matrix(params[index - 1]) if index else np.eye(2, 3)
        params[index] = (matrix[0, 0], matrix[1, 0], matrix[0, 2], matrix[1, 2])
    if smooth_radius and len(params) > 2 * smooth_radius:
        kernel = np.ones(2 * smooth_radius + 1) / (2 * smooth_radius + 1)
        padded = np.concatenate([params[:1].repeat(smooth_radius, 0), params, params[-1:].repeat(smooth_radius, 0)])
        params = np.stack([np.convolve(padded[:, column], kernel, mode="valid") for column in range(4)], axis=1)
    return np.stack([params_to_matrix(row) for row in params]).astype(np.float32)


def params_to_matrix(row: np.ndarray) -> np.ndarray:
    a, b, tx, ty = row
    return np.array([[a, -b, tx], [b, a, ty]], dtype=np.float64)


def crop(frame: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(frame, matrix, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def paste(frame: np.ndarray, patch: np.ndarray, matrix: np.ndarray, soft_mask: np.ndarray) -> None:
    """Blend a crop-space patch back into the frame (in place), warping only the covered region."""
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [CROP, 0, 1], [0, CROP, 1], [CROP, CROP, 1]], np.float32) @ inverse.T
    height, width = frame.shape[:2]
    x0, y0 = np.floor(corners.min(0)).astype(int)
    x1, y1 = np.ceil(corners.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(patch, shifted, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(soft_mask, shifted, size, flags=cv2.INTER_LINEAR, borderValue=0)[..., None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (region + alpha * (warped.astype(np.float32) - region)).astype(np.uint8)


def match_colour(predicted: np.ndarray, target: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Shift the prediction's colour so it agrees with the target frame on the blend band (no seams)."""
    weight = band[..., None]
    total = weight.sum()
    if total < 1:
        return predicted
    difference = ((target.astype(np.float32) - predicted.astype(np.float32)) * weight).sum((0, 1)) / total
    return np.clip(predicted.astype(np.float32) + difference, 0, 255).astype(np.uint8)
