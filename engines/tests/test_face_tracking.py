"""dlib's face detector and landmarks on frames as video decoding hands them over."""
from __future__ import annotations

import numpy as np

from engines.face_tracking import FaceAnalyzer, eye_openness
from engines.testing.face_video import face_image


def test_frames_with_padded_rows_are_analysed_as_what_they_show_not_their_padding():
    # Decoders pad each row of a 450 px RGB frame to 1392 bytes; the padding holds whatever memory held.
    face = face_image(450)
    height, width = face.shape[:2]

    def decoded(seed: int) -> np.ndarray:
        rows = np.random.default_rng(seed).integers(0, 256, (height, width * 3 + 42), dtype=np.uint8)
        frame = rows[:, : width * 3].reshape(height, width, 3)
        frame[:] = face
        return frame

    analyzer = FaceAnalyzer()
    first, second = decoded(1), decoded(2)
    assert not first.flags["C_CONTIGUOUS"]
    boxes = analyzer.detect(face.copy())
    assert boxes and analyzer.detect(first) == boxes == analyzer.detect(second)
    assert np.array_equal(analyzer.landmarks(first, boxes[0]), analyzer.landmarks(face.copy(), boxes[0]))


def test_eye_openness_is_the_lid_gap_over_the_eye_width_and_falls_when_the_eyes_close():
    def eyes(gap: float) -> np.ndarray:
        points = np.zeros((68, 2))
        for first, left in ((36, 0.0), (42, 50.0)):  # corners 30 px apart, upper and lower lids gap/2 from the middle
            points[first: first + 6] = [(left, 0), (left + 10, -gap / 2), (left + 20, -gap / 2),
                                        (left + 30, 0), (left + 20, gap / 2), (left + 10, gap / 2)]
        return points

    assert abs(eye_openness(eyes(9.0)) - 0.3) < 1e-9
    assert eye_openness(eyes(1.5)) < 0.6 * eye_openness(eyes(9.0)), "a blink reads as closed"
