"""Which training frames a render shows (loop_path) and how they are stored (JpegFrames)."""
import numpy as np
import pytest

from engines.talking_head.echolite import loop_path
from engines.talking_head.echolite.prepare import DECODE_AHEAD, JpegFrames, _jpeg


def mouths_opening(openings: np.ndarray) -> np.ndarray:
    """(N, 20, 2) crop-space mouths: a ring of points whose height is the opening."""
    angles = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    ring = np.stack([np.cos(angles) * 15, np.sin(angles)], 1)
    return np.array([ring * [1, 2 + opening] + 48 for opening in openings], np.float32)


def test_plain_loop_plays_forwards_then_backwards_without_a_double_frame():
    assert loop_path.plain_loop(4, 10).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    assert loop_path.plain_loop(1, 3).tolist() == [0, 0, 0]


def test_the_plan_follows_the_wanted_mouths_without_ever_cutting():
    rng = np.random.default_rng(0)
    own = np.abs(np.sin(np.arange(300) / 4.0)) * 6 + rng.normal(0, 0.2, 300)  # the clip's own lip openings
    wanted = np.abs(np.sin(np.arange(200) / 3.0 + 1.0)) * 6  # another rhythm of speech
    mouths, shapes = mouths_opening(own), mouths_opening(wanted)
    path = loop_path.plan(mouths, np.full(300, 0.5), shapes)
    assert len(path) == 200 and path.min() >= 0 and path.max() < 300
    assert set(np.abs(np.diff(path)).tolist()) == {1}, "every frame is its predecessor's neighbour"
    plain = loop_path.plain_loop(300, 200)
    assert np.corrcoef(own[path], wanted)[0, 1] > 0.8 > 0.3 > abs(np.corrcoef(own[plain], wanted)[0, 1])


def test_the_head_turns_around_where_it_is_still():
    own = np.abs(np.sin(np.arange(300) / 4.0)) * 6
    wanted = np.abs(np.sin(np.arange(200) / 3.0 + 1.0)) * 6
    motion = np.full(300, 50.0)
    still = np.arange(300) % 10 == 0
    motion[still] = 0.0
    path = loop_path.plan(mouths_opening(own), motion, mouths_opening(wanted))
    turns = [path[t] for t in range(1, len(path) - 1) if path[t - 1] == path[t + 1]]
    assert turns, "turning pays here"
    assert all(still[frame] for frame in turns), turns


def test_head_motion_is_scale_free():
    tracks = np.zeros((5, 68, 2))
    tracks[:, 45, 0] = 100.0  # eye corners 100 px apart
    tracks[:, :, 1] += np.arange(5)[:, None] * 2.0  # everything moves 2 px a frame
    assert np.allclose(loop_path.head_motion(tracks), 2.0)
    assert np.allclose(loop_path.head_motion(tracks * 3), 2.0)


def test_a_single_frame_clip_shows_that_frame():
    assert loop_path.plan(mouths_opening(np.ones(1)), np.zeros(1), mouths_opening(np.ones(7))).tolist() == [0] * 7


def test_background_frames_are_stored_and_read_in_any_order(tmp_path):
    rng = np.random.default_rng(1)
    frames = [np.full((32, 48, 3), value, np.uint8) + rng.integers(0, 3, (32, 48, 3), dtype=np.uint8) for value in range(0, 250, 5)]
    JpegFrames([_jpeg(frame) for frame in frames]).save(tmp_path / "frames.npz")
    stored = JpegFrames.load(tmp_path / "frames.npz")
    assert len(stored) == len(frames)
    order = [3, 2, 1, 0, 1, 2, 3, 4] + list(range(len(frames) - 1, -1, -1)) * 2
    assert len(order) > DECODE_AHEAD
    decoded = list(stored.decoded(order))
    assert len(decoded) == len(order)
    for index, frame in zip(order, decoded):
        assert frame.shape == (32, 48, 3)
        assert np.abs(frame.astype(int) - frames[index].astype(int)).mean() < 2


def test_a_broken_frame_store_is_an_error_not_a_silent_frame(tmp_path):
    (tmp_path / "frames.npz").write_bytes(b"PK\x03\x04 cut off")
    with pytest.raises(Exception):
        JpegFrames.load(tmp_path / "frames.npz")
