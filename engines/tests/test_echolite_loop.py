"""Which training frames a render shows (loop_path) and how they are stored (JpegFrames)."""
import numpy as np
import pytest

from engines.talking_head.echolite import loop_path
from engines.talking_head.echolite.exemplars import centred
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
    assert np.corrcoef(own[path], wanted)[0, 1] > 0.75 > 0.3 > abs(np.corrcoef(own[plain], wanted)[0, 1])


def test_a_long_render_plays_the_whole_clip_instead_of_replaying_its_best_stretch():
    own = np.abs(np.sin(np.arange(300) / 4.0)) * 6
    wanted = np.abs(np.sin(np.arange(3000) / 3.0 + 1.0)) * 6  # two minutes
    mouths, shapes = mouths_opening(own), mouths_opening(wanted)
    path = loop_path.plan(mouths, np.full(300, 0.5), shapes)
    assert set(np.abs(np.diff(path)).tolist()) == {1}, "chunks go on where the last one ended"
    uses = np.bincount(path, minlength=300)
    assert (uses > 0).mean() > 0.9 and uses.max() <= 3 * len(path) / 300, (np.count_nonzero(uses), uses.max())
    assert np.corrcoef(own[path], wanted)[0, 1] > 0.6
    replayed = np.bincount(loop_path.plan(mouths, np.full(300, 0.5), shapes, repeat_cost=0.0), minlength=300)
    assert (replayed > 0).mean() < 0.2, "without the cost of repeats the best stretch plays again and again"


def test_the_plan_is_the_cheapest_run_of_neighbouring_frames():
    rng = np.random.default_rng(3)
    count, length = 4, 6
    mouths, shapes = mouths_opening(rng.uniform(0, 6, count)), mouths_opening(rng.uniform(0, 6, length))
    motion = rng.uniform(0, 2, count)
    mismatch = ((centred(shapes)[:, None] - centred(mouths)[None]) ** 2).mean(-1)
    turn = loop_path.TURN_COST + loop_path.MOTION_COST * motion

    def cost(path):
        turns = sum(turn[path[t]] for t in range(1, length - 1) if path[t - 1] == path[t + 1])
        return mismatch[np.arange(length), path].sum() + turns

    runs = [[start] for start in range(count)]
    for _ in range(length - 1):
        runs = [run + [run[-1] + step] for run in runs for step in (-1, 1) if 0 <= run[-1] + step < count]
    planned = loop_path.plan(mouths, motion, shapes)
    assert cost(planned) == pytest.approx(min(cost(run) for run in runs))


def test_clips_of_one_and_two_frames_and_empty_speech():
    assert loop_path.plain_loop(2, 5).tolist() == [0, 1, 0, 1, 0]
    path = loop_path.plan(mouths_opening(np.array([0.0, 5.0])), np.zeros(2), mouths_opening(np.full(5, 5.0)))
    assert set(np.abs(np.diff(path)).tolist()) == {1}
    assert loop_path.plan(mouths_opening(np.ones(1)), np.zeros(1), mouths_opening(np.ones(7))).tolist() == [0] * 7
    assert len(loop_path.plan(mouths_opening(np.ones(3)), np.zeros(3), mouths_opening(np.ones(0)))) == 0
    with pytest.raises(ValueError, match="no background frames"):
        loop_path.plan(mouths_opening(np.ones(0)), np.zeros(0), mouths_opening(np.ones(3)))


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


def test_a_cut_off_frame_store_is_an_error_not_fewer_frames(tmp_path):
    frames = [np.full((16, 16, 3), value, np.uint8) for value in (10, 200)]
    JpegFrames([_jpeg(frame) for frame in frames]).save(tmp_path / "frames.npz")
    with np.load(tmp_path / "frames.npz") as stored:
        np.savez(tmp_path / "cut.npz", data=stored["data"][:-100], lengths=stored["lengths"])
    with pytest.raises(ValueError, match="bytes of JPEG"):
        JpegFrames.load(tmp_path / "cut.npz")
