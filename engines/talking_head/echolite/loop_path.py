"""Which training frame each rendered frame shows: the clip played back and forth, turning around
where the real mouth underneath comes closest to the mouth the speech asks for.

The painted mouth covers the lips only; jaw, chin and cheeks are the looped frame's. A plain loop
turns only at the clip's ends, so those move with other words than the ones spoken. Choosing where
to start and where to turn, by dynamic programming over the render, brings the frames' own mouths
near the predicted ones without ever cutting: every frame is the previous one's neighbour.
Measured on the real benchmark clip's held-out tail (bench/results/echolite_real.json): the chosen
frames alone, with no mouth drawn, open their lips with the real tail's at r 0.61 (the plain loop
0.13), LMD 17.0 (27.4); the real tail's own mouths pasted into them score mouth SSIM 0.860 and PSNR
28.4 (into the plain loop 0.806 and 26.9). Turning costs more the faster the head moves there, so
the head reverses where it is nearly still.
"""
from __future__ import annotations

import numpy as np

from engines.talking_head.echolite.exemplars import centred

# In squared crop pixels of mouth-shape distance, summed over frames: what a turn must gain.
TURN_COST = 4.0
# Added to a turn per 1 % of the eye distance the head moves per frame there.
MOTION_COST = 4.0
# Renders are planned CHUNK frames at a time, each chunk going on from where the last ended, and a
# frame costs REPEAT_COST more for each time it has been shown beyond the clip's average so far.
# Otherwise the best-matching stretch is replayed over and over in a long render (repeated nods and
# blinks): for 60 s of real speech over the Obama model's 340 frames, planned whole, 101 distinct
# frames, one shown 27 times (mouth-shape mismatch 0.57; the plain loop 1.12); in chunks of 50 / 100
# / 150 frames at this cost 325 / 337 / 280 frames, at most 9 / 8 / 14 times (mismatch 0.73 / 0.65 /
# 0.64); at costs 0.25 / 1 / 2 (chunks of 50) 340 / 321 / 340, mismatch 0.69 / 0.74 / 0.83.
CHUNK = 100
REPEAT_COST = 0.5
EYE_CORNERS = (36, 45)


def head_motion(tracks: np.ndarray) -> np.ndarray:
    """(N,) how far the face's landmarks move around each frame, in % of the eye distance per frame."""
    tracks = np.asarray(tracks, np.float64)
    if len(tracks) < 2:
        return np.zeros(len(tracks))
    eyes = np.linalg.norm(tracks[:, EYE_CORNERS[1]] - tracks[:, EYE_CORNERS[0]], axis=1)
    step = np.linalg.norm(np.diff(tracks, axis=0), axis=2).mean(1) / np.maximum(eyes[:-1], 1e-6) * 100
    padded = np.concatenate([step[:1], step, step[-1:]])
    return (padded[:-1] + padded[1:]) / 2


def plan(mouths: np.ndarray, motion: np.ndarray, shapes: np.ndarray, repeat_cost: float = REPEAT_COST) -> np.ndarray:
    """(T,) training-frame index for each of `shapes` (T, 20, 2) predicted crop-space mouths, given the
    training frames' own crop-space mouths (N, 20, 2) and `head_motion`. Consecutive indices always
    differ by one: the clip plays forwards or backwards and turns around."""
    count, length = len(mouths), len(shapes)
    if count == 0:
        raise ValueError("no background frames to play")
    if count == 1 or length == 0:
        return np.zeros(length, dtype=np.int64)
    targets, own = centred(shapes), centred(mouths)
    own_norms = (own**2).sum(1)
    turn = TURN_COST + MOTION_COST * np.asarray(motion, np.float64)
    uses = np.zeros(count)
    path = np.empty(length, dtype=np.int64)
    end = None
    for first in range(0, length, CHUNK):
        block = targets[first: first + CHUNK]
        # Squared distances as |a|^2 - 2 a.b + |b|^2, a block at a time: (T, N) at once can be large.
        mismatch = ((block**2).sum(1)[:, None] - 2 * block @ own.T + own_norms[None]) / own.shape[1]
        repeats = repeat_cost * np.maximum(uses - first / count, 0)
        path[first: first + len(block)], end = _best_run(mismatch + repeats, turn, end)
        uses += np.bincount(path[first: first + len(block)], minlength=count)
    return path


def _best_run(costs: np.ndarray, turn: np.ndarray, after: tuple[int, bool] | None) -> tuple[np.ndarray, tuple[int, bool]]:
    """Viterbi over (frame, direction) for per-frame `costs` (L, N): the cheapest run of neighbouring
    frames, continuing from `after` (the last frame shown and whether it played forwards) when given.
    Returns the run and its own last (frame, forwards)."""
    length, count = costs.shape
    infinity = np.inf
    # forward[i]: best cost with frame i shown last while playing forwards; backward[i]: backwards.
    if after is None:
        forward, backward = costs[0].astype(np.float64), costs[0].astype(np.float64)
    else:
        last, was_forward = after
        forward, backward = np.full(count, infinity), np.full(count, infinity)
        ahead, behind = (last + 1, last - 1) if was_forward else (last - 1, last + 1)
        on, back = (forward, backward) if was_forward else (backward, forward)
        if 0 <= ahead < count:
            on[ahead] = costs[0, ahead]
        if 0 <= behind < count:
            back[behind] = costs[0, behind] + turn[last]
    turned_forward = np.zeros((length, count), dtype=bool)  # reached forward[i] by turning at i - 1
    turned_backward = np.zeros((length, count), dtype=bool)  # reached backward[i] by turning at i + 1
    for t in range(1, length):
        keep = np.concatenate([[infinity], forward[:-1]])  # forward[i - 1] -> forward[i]
        swap = np.concatenate([[infinity], backward[:-1] + turn[:-1]])  # backward[i - 1], turning there
        keep_back = np.concatenate([backward[1:], [infinity]])  # backward[i + 1] -> backward[i]
        swap_back = np.concatenate([forward[1:] + turn[1:], [infinity]])  # forward[i + 1], turning there
        turned_forward[t], turned_backward[t] = swap < keep, swap_back < keep_back
        forward, backward = np.minimum(keep, swap) + costs[t], np.minimum(keep_back, swap_back) + costs[t]
    run = np.empty(length, dtype=np.int64)
    playing_forward = forward.min() <= backward.min()
    index = int(forward.argmin() if playing_forward else backward.argmin())
    end = (index, bool(playing_forward))
    for t in range(length - 1, -1, -1):
        run[t] = index
        turned = turned_forward[t, index] if playing_forward else turned_backward[t, index]
        index = index - 1 if playing_forward else index + 1
        playing_forward = playing_forward != turned
    return run, end


def plain_loop(count: int, length: int) -> np.ndarray:
    """(length,) indices of the clip played forwards, then backwards, without showing a turning frame twice."""
    if count == 1:
        return np.zeros(length, dtype=np.int64)
    cycle = np.concatenate([np.arange(count), np.arange(count - 2, 0, -1)])
    return cycle[np.arange(length) % len(cycle)]
