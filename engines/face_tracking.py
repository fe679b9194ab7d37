"""Faces in video: dlib HOG detection, 68-point landmarks, stable tracking, per-video statistics.

Detection is slow (~20-40 ms a frame) and landmarks fast (~2 ms), so a tracker detects
every few frames and otherwise places landmarks in the box the last landmarks span.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from engines import media
from engines.messages import gettext_noop
from engines.progress import Progress, no_progress

# Largest side frames are analysed at; landmarks are scaled back to full resolution.
ANALYSIS_SIDE = 640
REDETECT_EVERY = 5
INNER_LIP_TOP, INNER_LIP_BOTTOM = 62, 66
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 36, 45
SECOND_FACE_RATIO = 0.6
# HOG scores: real faces score ~1, texture that merely looks face-like ~0.05.
MIN_DETECTION_SCORE = 0.25


@dataclass
class FaceBox:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def center(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2, (self.top + self.bottom) / 2)


class FaceAnalyzer:
    """dlib's frontal face detector and 68-point shape predictor (shipped by face_recognition_models)."""

    def __init__(self) -> None:
        # Imported here: fitting and rendering use this module's landmark geometry alone, and run
        # on machines that have no dlib or landmark model (a GPU box given prepared crops).
        import dlib
        import face_recognition_models

        self._rectangle = dlib.rectangle
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())

    @staticmethod
    def _analysis_scale(image: np.ndarray) -> float:
        return min(1.0, ANALYSIS_SIDE / max(image.shape[:2]))

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in the frame, largest first, in full-resolution pixel coordinates."""
        scale = self._analysis_scale(rgb)
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else packed(rgb)
        rects, scores, _ = self._detector.run(small, 0, 0.0)
        if not rects:
            rects, scores, _ = self._detector.run(small, 1, 0.0)  # small faces need one upsampling step
        boxes = [
            FaceBox(r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale)
            for r, score in zip(rects, scores)
            if score >= MIN_DETECTION_SCORE
        ]
        return sorted(boxes, key=lambda box: -box.height)

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray:
        rect = self._rectangle(int(box.left), int(box.top), int(box.right), int(box.bottom))
        shape = self._predictor(packed(rgb), rect)
        return np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float32)


def packed(image: np.ndarray) -> np.ndarray:
    """`image` with rows that follow each other in memory. Decoded frames often have padded rows
    (450 px of RGB in rows of 1392 bytes), and given such views dlib's landmarks changed from run to
    run: the same 400 frames tracked twice came out up to 4 px apart."""
    return np.ascontiguousarray(image)


def box_from_landmarks(points: np.ndarray) -> FaceBox:
    """The detector-style box around a landmark set (dlib boxes start at the brows, end at the chin)."""
    left, top = points.min(axis=0)
    right, bottom = points.max(axis=0)
    margin = 0.08 * (right - left)
    return FaceBox(left - margin, top - margin, right + margin, bottom + margin)


def eye_openness(points: np.ndarray) -> float:
    """The eye aspect ratio of both eyes: lid gaps over eye width (about 0.3 open, near 0 closed)."""
    ratios = []
    for eye in (points[36:42], points[42:48]):
        width = np.linalg.norm(eye[0] - eye[3])
        height = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
        ratios.append(height / (2 * width) if width > 0 else 0.0)
    return float(np.mean(ratios))


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap relative to the eye distance (scale free)."""
    eyes = np.linalg.norm(points[RIGHT_EYE_OUTER] - points[LEFT_EYE_OUTER])
    return float(np.linalg.norm(points[INNER_LIP_BOTTOM] - points[INNER_LIP_TOP]) / max(eyes, 1e-6))


class FaceTracker:
    """Landmarks frame after frame for one person: detect every few frames, follow in between."""

    def __init__(self, analyzer: FaceAnalyzer, redetect_every: int = REDETECT_EVERY) -> None:
        self.analyzer = analyzer
        self.redetect_every = redetect_every
        self._box: FaceBox | None = None
        self._since_detection = 0

    def update(self, rgb: np.ndarray) -> np.ndarray | None:
        """68 landmarks of the tracked face in this frame, or None when no face is found."""
        if self._box is None or self._since_detection >= self.redetect_every:
            boxes = self.analyzer.detect(rgb)
            self._since_detection = 0
            if boxes:
                self._box = self._closest(boxes)
            elif self._box is None:
                return None
        self._since_detection += 1
        points = self.analyzer.landmarks(rgb, self._box)
        self._box = box_from_landmarks(points)
        return points

    def _closest(self, boxes: list[FaceBox]) -> FaceBox:
        if self._box is None:
            return boxes[0]
        cx, cy = self._box.center
        return min(boxes, key=lambda box: (box.center[0] - cx) ** 2 + (box.center[1] - cy) ** 2)


def fill_and_smooth(tracks: list[np.ndarray | None], radius: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(N, 68, 2) landmarks with gaps filled from the nearest tracked frame, temporally smoothed; and the found mask."""
    found = np.array([points is not None for points in tracks])
    if not found.any():
        raise ValueError(gettext_noop("no face found in the video"))
    indices = np.flatnonzero(found)
    filled = np.empty((len(tracks), 68, 2), dtype=np.float32)
    for index in range(len(tracks)):
        nearest = indices[np.abs(indices - index).argmin()]
        filled[index] = tracks[nearest]
    if radius > 0 and len(tracks) > 2 * radius:
        kernel = np.ones(2 * radius + 1, dtype=np.float32) / (2 * radius + 1)
        padded = np.concatenate([filled[:1].repeat(radius, 0), filled, filled[-1:].repeat(radius, 0)])
        flat = padded.reshape(len(padded), -1)
        smoothed = np.stack([np.convolve(flat[:, column], kernel, mode="valid") for column in range(flat.shape[1])], axis=1)
        filled = smoothed.reshape(filled.shape).astype(np.float32)
    return filled, found


def face_stats(video_path: str | os.PathLike, max_samples: int = 40, progress: Progress = no_progress, analyzer: FaceAnalyzer | None = None) -> dict:
    """Faces on frames sampled evenly across the video: how many show exactly one face, its size, light, motion."""
    analyzer = analyzer or FaceAnalyzer()
    info = media.probe(video_path)
    total = max(1, int(info.duration * (info.fps or 25)))
    step = max(1, total // max_samples)
    counts, heights, centers, brightness = [], [], [], []
    sampled = 0
    for frame in media.iter_video_frames(video_path, every=step):
        boxes = analyzer.detect(frame)
        # Faces much smaller than the main one are background detail or false hits, not a second speaker.
        boxes = [box for box in boxes if box.height >= SECOND_FACE_RATIO * boxes[0].height]
        counts.append(len(boxes))
        if len(boxes) == 1:
            box = boxes[0]
            heights.append(box.height / frame.shape[0])
            centers.append(np.array(box.center) / max(box.height, 1.0))
            top, bottom = int(max(box.top, 0)), int(min(box.bottom, frame.shape[0]))
            left, right = int(max(box.left, 0)), int(min(box.right, frame.shape[1]))
            region = frame[top:bottom, left:right]
            if region.size:
                brightness.append(float(cv2.cvtColor(region, cv2.COLOR_RGB2GRAY).mean()))
        sampled += 1
        progress("face check", min(sampled / max_samples, 1.0))
        if sampled >= max_samples:
            break
    counts = np.array(counts) if counts else np.zeros(1)
    motion = float(np.std(np.stack(centers), axis=0).max()) if len(centers) > 1 else 0.0
    return {
        "frames_sampled": int(sampled),
        "one_face_share": float(np.mean(counts == 1)),
        "no_face_share": float(np.mean(counts == 0)),
        "multi_face_share": float(np.mean(counts > 1)),
        "median_face_height_ratio": float(np.median(heights)) if heights else 0.0,
        "median_face_height_px": float(np.median(heights) * info.height) if heights else 0.0,
        "mean_face_brightness": float(np.mean(brightness)) if brightness else 0.0,
        "head_motion": motion,
    }
