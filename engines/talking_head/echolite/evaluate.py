"""Lip-sync quality on full frames, measured the way an outside observer would.

Both videos get their own dlib 68-point landmarks on the full frames (never the model's tracks or
crops); each frame is aligned to one canonical face by the points that do not move with the mouth
(eye corners, nose), and the mouths are compared there: SSIM and PSNR of the mouth region, the
landmark distance of the mouth points (LMD, in 1/1000 of the face width), the correlation of the
inner-lip opening over time, the fine detail (teeth, lip edges) the mouths keep against the
real ones (sharpness: 1 is as crisp as the real video, a blurred mouth less), and how much the
mouths shimmer from frame to frame against the real ones (1 as steady as the real video, a
flickering mouth more). The same figures for the plain loop of training frames show what the model adds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

from engines.face_tracking import FaceAnalyzer, FaceTracker, mouth_opening
from engines.messages import Message, gettext_noop
from engines.progress import Progress, no_progress
from engines.talking_head.echolite.sync import best_lag, lagged_correlation

STILL_POINTS = [27, 28, 29, 30, 31, 33, 35, 36, 39, 42, 45]
MOUTH_POINTS = list(range(48, 68))
CANVAS = 256
FACE_WIDTH = 160.0  # canonical distance between the jaw ends (points 0 and 16), px
MOUTH_MARGIN = 0.25  # of the mouth box, on each side
MAX_LAG = 5
SHIMMER_LIMIT = 1.5  # a mouth jittering this much more than the real one's is named in the verdict
MIN_REAL_JITTER = 0.05  # grey levels: real mouths this still give no scale to measure a shimmer against


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
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


def detail(grey: np.ndarray) -> float:
    """Mean absolute Laplacian: the fine structure (teeth, lip edges) that a blurred mouth lacks."""
    return float(np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)).mean())


def jitter(mouths: list[np.ndarray | None]) -> float:
    """Mean frame-to-frame jitter of greyscale mouth images: each frame's distance from the midpoint of
    its neighbours, so that steady motion cancels and a flicker does not, over the runs of three frames
    where all three mouths were found."""
    steps = [np.abs(middle - (before + after) / 2).mean() for before, middle, after in zip(mouths, mouths[1:], mouths[2:])
             if before is not None and middle is not None and after is not None]
    return float(np.mean(steps)) if steps else float("nan")


def landmarks(frames: Iterable[np.ndarray], analyzer: FaceAnalyzer) -> list[np.ndarray | None]:
    tracker = FaceTracker(analyzer)
    return [tracker.update(frame) for frame in frames]


def _similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    matrix, _ = cv2.estimateAffinePartial2D(source.astype(np.float32), target.astype(np.float32), method=cv2.LMEDS)
    return matrix if matrix is not None else np.eye(2, 3)


def _canonical_face(points: list[np.ndarray]) -> np.ndarray:
    """The mean real face, scaled to FACE_WIDTH and centred on the canvas."""
    first = points[0]
    aligned = [cv2.transform(p[None], _similarity(p[STILL_POINTS], first[STILL_POINTS]))[0] for p in points]
    mean = np.mean(aligned, axis=0)
    mean = (mean - mean.mean(0)) * FACE_WIDTH / np.linalg.norm(mean[16] - mean[0])
    return (mean + CANVAS / 2).astype(np.float32)


@dataclass
class LipFigures:
    mouth_ssim: float
    mouth_psnr: float
    lmd: float
    lip_opening_r: float
    lip_opening_lag: int  # best lag of the opening correlation; 0 when the lips are on time
    mouth_sharpness: float  # fine detail of the mouths against the real ones' (1: as crisp)
    mouth_shimmer: float  # frame-to-frame jitter of the mouths against the real ones' (1: as steady)
    frames: int
    opening: np.ndarray  # inner-lip opening per frame of the compared video, NaN where no face was found

    def as_dict(self, prefix: str = "") -> dict:
        return {f"{prefix}mouth_ssim": round(self.mouth_ssim, 4), f"{prefix}mouth_psnr": round(self.mouth_psnr, 2),
                f"{prefix}lmd": round(self.lmd, 2), f"{prefix}lip_opening_r": round(self.lip_opening_r, 3),
                f"{prefix}lip_opening_lag_frames": self.lip_opening_lag, f"{prefix}mouth_sharpness": round(self.mouth_sharpness, 3),
                f"{prefix}mouth_shimmer": round(self.mouth_shimmer, 3) if np.isfinite(self.mouth_shimmer) else None}


def grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)


class MouthComparison:
    """Compares videos of a face with the real frames they stand in for."""

    def __init__(self, real_frames: list[np.ndarray], analyzer: FaceAnalyzer | None = None):
        self.analyzer = analyzer or FaceAnalyzer()
        self.real = real_frames
        self.real_points = landmarks(real_frames, self.analyzer)
        found = [points for points in self.real_points if points is not None]
        if len(found) < max(4, len(real_frames) // 2):
            raise ValueError(gettext_noop("no face found in most of the real frames"))
        self.canonical = _canonical_face(found)
        mouth = self.canonical[MOUTH_POINTS]
        low, high = mouth.min(0), mouth.max(0)
        margin = (high - low) * MOUTH_MARGIN
        (self.x0, self.y0), (self.x1, self.y1) = np.floor(low - margin).astype(int), np.ceil(high + margin).astype(int)
        self.real_mouths = [self.aligned_mouth(frame, points) for frame, points in zip(real_frames, self.real_points)]
        self.real_greys = [None if mouth is None else grey(mouth[0]) for mouth in self.real_mouths]
        self.real_jitter = jitter(self.real_greys)
        self.real_opening = np.array([mouth_opening(p) if p is not None else np.nan for p in self.real_points])

    def _align(self, points: np.ndarray) -> np.ndarray:
        return _similarity(points[STILL_POINTS], self.canonical[STILL_POINTS])

    def aligned_mouth(self, frame: np.ndarray, points: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
        """(canonical mouth image, canonical mouth landmarks)."""
        if points is None:
            return None
        matrix = self._align(points)
        canvas = cv2.warpAffine(frame, matrix, (CANVAS, CANVAS), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        return canvas[self.y0: self.y1, self.x0: self.x1], cv2.transform(points[None], matrix)[0][MOUTH_POINTS]

    def compare(self, frames: list[np.ndarray], progress: Progress = no_progress) -> LipFigures:
        if len(frames) != len(self.real):
            raise ValueError(f"{len(frames)} frames to compare with {len(self.real)} real ones")
        points = landmarks(frames, self.analyzer)
        ssims, psnrs, distances, details = [], [], [], []
        greys: list[np.ndarray | None] = [None] * len(frames)
        opening = np.full(len(frames), np.nan)
        for index, (frame, found, real, real_grey) in enumerate(zip(frames, points, self.real_mouths, self.real_greys)):
            if found is None or real is None:
                continue
            image, mouth = self.aligned_mouth(frame, found)
            mouth_grey = greys[index] = grey(image)
            ssims.append(ssim(mouth_grey, real_grey))
            details.append((detail(mouth_grey), detail(real_grey)))
            psnrs.append(psnr(image, real[0]))
            distances.append(float(np.linalg.norm(mouth - real[1], axis=1).mean()) / FACE_WIDTH * 1000)
            opening[index] = mouth_opening(found)
            if index % 25 == 0:
                progress("evaluate", index / len(frames))
        if not ssims:
            raise ValueError(gettext_noop("no face found in the frames to compare"))
        both = ~np.isnan(opening) & ~np.isnan(self.real_opening)
        _, lag = best_lag(self.real_opening[both], opening[both], MAX_LAG)
        ours, theirs = np.sum(details, axis=0)
        return LipFigures(float(np.mean(ssims)), float(np.mean(psnrs)), float(np.mean(distances)),
                          lagged_correlation(self.real_opening[both], opening[both], 0), lag, float(ours / max(theirs, 1e-6)),
                          self._shimmer(greys), int(both.sum()), opening)

    def _shimmer(self, greys: list[np.ndarray | None]) -> float:
        """The mouths' jitter against the real ones' (NaN where the real mouth is too still to compare with)."""
        return jitter(greys) / self.real_jitter if self.real_jitter > MIN_REAL_JITTER else float("nan")


def speech_correlation(frames_opening: np.ndarray, energy: np.ndarray) -> tuple[float, int]:
    """(correlation, lag) of lip opening with the loudness of the speech it goes with."""
    return best_lag(np.asarray(frames_opening, np.float64), np.asarray(energy, np.float64), MAX_LAG)


def openings(frames: list[np.ndarray], analyzer: FaceAnalyzer) -> np.ndarray:
    """Inner-lip opening per frame (NaN where no face is found)."""
    return np.array([mouth_opening(p) if p is not None else np.nan for p in landmarks(frames, analyzer)])


def verdict(model: LipFigures, loop: LipFigures) -> tuple[bool, Message]:
    """Whether the lips beat the plain loop of training frames, in words a user can act on.

    The judgement is on the motion (LMD, lip-opening r); how crisp the mouth is, which a blurred
    mouth that moves well would hide, is said beside it, and a shimmer where there is one."""
    beats = model.lmd < loop.lmd and model.lip_opening_r > loop.lip_opening_r + 0.05
    # Quoted as stored beside the verdict, so that the pages, which show those, read the same numbers.
    ours, theirs = model.as_dict(), loop.as_dict()
    figures = gettext_noop("lip-opening r {opening_r:.2f} vs {loop_opening_r:.2f}, LMD {lmd:.1f} vs {loop_lmd:.1f}; "
                           "the mouth keeps {detail:.2f} of the real frames' fine detail, the loop {loop_detail:.2f}",
                           opening_r=ours["lip_opening_r"], loop_opening_r=theirs["lip_opening_r"], lmd=ours["lmd"],
                           loop_lmd=theirs["lmd"], detail=ours["mouth_sharpness"], loop_detail=theirs["mouth_sharpness"])
    if model.mouth_shimmer > SHIMMER_LIMIT:
        figures = gettext_noop("{figures}; the mouth shimmers from frame to frame ({shimmer:.1f}x the real frames' jitter)",
                               figures=figures, shimmer=ours["mouth_shimmer"])
    if beats:
        return True, gettext_noop("the lips follow the speech better than the looped training frames ({figures})", figures=figures)
    return False, gettext_noop("the lips do not beat the looped training frames ({figures}): train longer or on a clearer video",
                               figures=figures)
