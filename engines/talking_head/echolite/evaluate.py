"""Self-evaluation on held-out frames: mouth PSNR/SSIM against the real frames, and audio-mouth sync."""
from __future__ import annotations

import cv2
import numpy as np

from engines.face_tracking import FaceAnalyzer, box_from_landmarks, mouth_opening
from engines.progress import Progress
from engines.talking_head.echolite import features
from engines.talking_head.echolite.model import MouthModel
from engines.talking_head.echolite.prepare import FPS, Prepared, unjpeg

MAX_OFFSET = 5
BATCH = 16


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    weight = np.broadcast_to(mask[..., None], a.shape)
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2 * weight).sum() / max(weight.sum(), 1))
    return float(10 * np.log10(255.0**2 / max(mse, 1e-10)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity of two greyscale images (Gaussian window, sigma 1.5)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    blur = lambda image: cv2.GaussianBlur(image, (7, 7), 1.5)  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, covar = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * covar + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(index.mean())


def best_lag(energy: np.ndarray, opening: np.ndarray, max_offset: int = MAX_OFFSET) -> tuple[float, int]:
    """(correlation, offset): offset k > 0 means the mouth moves k frames after the sound."""
    best = (-1.0, 0)
    for offset in range(-max_offset, max_offset + 1):
        a = energy[max(0, -offset): len(energy) - max(0, offset)]
        b = opening[max(0, offset): len(opening) - max(0, -offset)]
        if len(a) > 3 and a.std() > 0 and b.std() > 0:
            correlation = float(np.corrcoef(a, b)[0, 1])
            if correlation > best[0]:
                best = (correlation, offset)
    return best


def self_evaluate(model: MouthModel, prepared: Prepared, progress: Progress) -> dict:
    held = range(prepared.holdout_start, prepared.frame_count)
    if len(held) < 10:
        return {"holdout_frames": len(held)}
    analyzer = FaceAnalyzer()
    bbox = np.argwhere(model.hard_mask > 0)
    (y0, x0), (y1, x1) = bbox.min(0), bbox.max(0) + 1
    psnrs, ssims, rendered_opening, real_opening = [], [], [], []
    previous = None
    for start in range(0, len(held), BATCH):
        indices = list(held[start: start + BATCH])
        frames = [unjpeg(prepared.holdout_jpegs[i - prepared.holdout_start]) for i in indices]
        real_crops = prepared.crops[indices]
        mouths = model.predict(real_crops, prepared.windows[indices])
        for real, mouth in zip(real_crops, mouths):
            psnrs.append(psnr(mouth, real, model.hard_mask))
            gray = [cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY) for image in (mouth, real)]
            ssims.append(ssim(*gray))
        frames, previous = model.compose(frames, prepared.transforms[indices], prepared.windows[indices], previous)
        for index, frame in zip(indices, frames):
            points = analyzer.landmarks(frame, box_from_landmarks(prepared.tracks[index]))
            rendered_opening.append(mouth_opening(points))
            real_opening.append(mouth_opening(prepared.tracks[index]))
        progress("evaluate", min((start + BATCH) / len(held), 1.0))
    energy = features.frame_energy(prepared.audio, prepared.frame_count, FPS)[prepared.holdout_start:]
    correlation, offset = best_lag(energy, np.array(rendered_opening))
    real_correlation, real_offset = best_lag(energy, np.array(real_opening))
    return {
        "holdout_frames": len(held),
        "mouth_psnr": round(float(np.mean(psnrs)), 2),
        "mouth_ssim": round(float(np.mean(ssims)), 4),
        "sync_correlation": round(correlation, 3),
        "sync_offset_frames": offset,
        "real_sync_correlation": round(real_correlation, 3),
        "real_sync_offset_frames": real_offset,
    }
