"""From a training video to what the model learns from: tracks, crops, audio windows, backgrounds."""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from engines import media
from engines.face_tracking import FaceAnalyzer, FaceTracker, fill_and_smooth, mouth_opening
from engines.messages import gettext_noop
from engines.progress import Progress, staged
from engines.talking_head.echolite import alignment, features
from engines.talking_head.echolite.mouth_shape import crop_space_mouths
from engines.talking_head.echolite.sync import AudioDelay, content_fit, estimate_audio_delay

FPS = 25
# Renders play this much of the video back and forth (see loop_path), so it is kept in the model.
BACKGROUND_SECONDS = 30
HOLDOUT_SHARE = 0.15
HOLDOUT_MAX_FRAMES = 250
MAX_FRAME_SIDE = 1920
# The background frames as JPEGs, read in any order as renders turn around in the clip: at 512x512
# a frame decodes in 1.6 ms (H.264 through ffmpeg: 1.8 ms, in order only) and takes 36 kB.
BACKGROUND_FILE = "background_frames.npz"
JPEG_QUALITY = 92
# The passes of preparing, in order, with their rough shares of its time (a 12 s 256 px clip on
# 2 CPU cores: tracking 60 %, Whisper states 20 %); each pass counts 0..1 within its share.
PREPARE_STAGES = {"track": 0.6, "crop": 0.2, "audio": 0.2}
# Frames decoded ahead of the one being drawn, on a thread of their own (OpenCV releases the GIL).
DECODE_AHEAD = 32


@dataclass
class Prepared:
    width: int
    height: int
    frame_count: int
    tracks: np.ndarray  # (N, 68, 2) full-resolution landmarks
    found: np.ndarray  # (N,) bool: a face was really found (not filled in)
    template: alignment.Template
    transforms: np.ndarray  # (N, 2, 3) frame -> crop
    crops: np.ndarray  # (N, CROP, CROP, 3) uint8
    audio: np.ndarray  # 16 kHz mono
    delay: AudioDelay  # how far the sound trails the mouth; windows are corrected for it
    windows: np.ndarray  # (N, STATE_SIZE, CONTEXT) float16 Whisper states, frame i with the sound that it makes
    background_frames: int
    holdout_start: int
    holdout_jpegs: list[bytes] = field(default_factory=list)


def even(value: int) -> int:
    return value - value % 2


def frame_size(width: int, height: int) -> tuple[int, int]:
    """The size a model keeps and renders a video's frames at: at most MAX_FRAME_SIDE on the long side
    (a 4K upload would hold about a gigabyte of background frames and encode at a fifth of real time
    on two cores), even on both (what H.264 in yuv420p needs)."""
    scale = min(1.0, MAX_FRAME_SIDE / max(width, height, 1))
    return even(int(round(width * scale))), even(int(round(height * scale)))


def _frames(video: Path):
    """25 fps frames at the size the model keeps (frame_size)."""
    for frame in media.iter_video_frames(video, fps=FPS):
        height, width = frame.shape[:2]
        size = frame_size(width, height)
        if size == (even(width), even(height)):
            yield frame[: size[1], : size[0]]
        else:
            yield cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def track_faces(video: Path, expected_frames: int, progress: Progress, max_frames: int | None = None,
                analyzer: FaceAnalyzer | None = None) -> tuple[np.ndarray, np.ndarray]:
    tracker = FaceTracker(analyzer or FaceAnalyzer())
    tracks = []
    for index, frame in enumerate(_frames(video)):
        if max_frames is not None and index >= max_frames:
            break
        tracks.append(tracker.update(frame))
        if index % 10 == 0:
            progress("track", min(index / max(expected_frames, 1), 1.0))
    return fill_and_smooth(tracks)


def prepare(video: Path, model_dir: Path, progress: Progress, analyzer: FaceAnalyzer | None = None) -> Prepared:
    """Two passes over the video: landmarks first, then crops and the background frames."""
    progress = staged(progress, PREPARE_STAGES)
    info = media.probe(video)
    expected = max(1, int(round(info.duration * FPS)))
    tracks, found = track_faces(video, expected, progress, analyzer=analyzer)
    count = len(tracks)
    template = alignment.Template.fit(tracks[found])
    transforms = alignment.crop_transforms(tracks, template)

    holdout_start = training_frame_count(count)
    background_count = min(count, BACKGROUND_SECONDS * FPS, holdout_start)
    crops = np.empty((count, alignment.CROP, alignment.CROP, 3), dtype=np.uint8)
    background_jpegs: list[bytes] = []
    holdout_jpegs: list[bytes] = []
    height = width = 0
    for index, frame in enumerate(_frames(video)):
        if index >= count:
            break
        height, width = frame.shape[:2]
        crops[index] = alignment.crop(frame, transforms[index])
        if index < background_count:
            background_jpegs.append(_jpeg(frame))
        if index >= holdout_start:
            holdout_jpegs.append(_jpeg(frame))
        if index % 10 == 0:
            progress("crop", index / count)
    JpegFrames(background_jpegs).save(model_dir / BACKGROUND_FILE)

    progress("audio", 0.0, gettext_noop("reading the speech"))
    audio = media.load_declared_audio(video, features.SAMPLE_RATE)
    states = features.encoder_states(audio)
    delay = audio_delay(tracks[:holdout_start], found[:holdout_start], transforms[:holdout_start], audio, states)
    windows = features.frame_windows(states, count, FPS, delay.frames)
    progress("audio", 1.0, delay.note())
    return Prepared(width, height, count, tracks, found, template, transforms, crops, audio, delay, windows,
                    background_count, holdout_start, holdout_jpegs)


def training_frame_count(frames: int) -> int:
    """How many of a video's first `frames` training learns from: the rest is held out for the self-evaluation."""
    return frames - min(int(frames * HOLDOUT_SHARE), HOLDOUT_MAX_FRAMES)


def measure_audio_delay(video: Path, seconds: float, progress: Progress, analyzer: FaceAnalyzer | None = None) -> AudioDelay:
    """The audio's shift against the lips (the input check's preview), measured as training will measure it:
    on the part of the video it learns from, the held-out tail left out (a 20 s clip's check had said +5
    where its training found +2), over at most the first `seconds` of it (a longer video is previewed on its start)."""
    expected = max(1, int(round(media.probe(video).duration * FPS)))
    as_training = training_frame_count(expected) <= seconds * FPS
    limit = None if as_training else int(seconds * FPS)
    tracks, found = track_faces(video, limit or expected, progress, max_frames=limit, analyzer=analyzer)
    transforms = alignment.crop_transforms(tracks, alignment.Template.fit(tracks[found]))
    audio = (media.load_declared_audio(video, features.SAMPLE_RATE) if as_training
             else media.load_audio(video, features.SAMPLE_RATE, max_seconds=seconds))
    measured = training_frame_count(len(tracks)) if as_training else len(tracks)
    return audio_delay(tracks[:measured], found[:measured], transforms[:measured], audio, features.encoder_states(audio))


def audio_delay(tracks: np.ndarray, found: np.ndarray, transforms: np.ndarray, audio: np.ndarray, states: np.ndarray) -> AudioDelay:
    """The audio's shift against the lips, from the frames where a face was really found
    (`states`: the Whisper speech states of `audio`)."""
    opening = np.array([mouth_opening(points) for points in tracks])
    energy = features.frame_energy(audio, len(tracks), FPS)
    frames = np.arange(len(tracks))
    if found.mean() < 0.9:  # filled gaps would flatten the lip signal: use the longest tracked run
        runs = np.split(frames, np.flatnonzero(np.diff(found.astype(int))) + 1)
        frames = max((run for run in runs if found[run[0]]), key=len)
    mouths = crop_space_mouths(tracks[frames], transforms[frames])
    return estimate_audio_delay(opening[frames], energy[frames], content_fit(states, mouths, frames, FPS))


def _jpeg(frame: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes()


def unjpeg(data: bytes | np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class JpegFrames:
    """Video frames kept as JPEGs: decoded one at a time, in any order."""

    def __init__(self, jpegs: list[bytes] | list[np.ndarray]):
        self.jpegs = jpegs

    def __len__(self) -> int:
        return len(self.jpegs)

    def __getitem__(self, index: int) -> np.ndarray:
        return unjpeg(self.jpegs[index])

    def decoded(self, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """The frames at `indices`, in order, decoded up to DECODE_AHEAD frames ahead on another thread."""
        pending: list[Future] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            for index in indices:
                pending.append(pool.submit(self.__getitem__, int(index)))
                if len(pending) > DECODE_AHEAD:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()

    def save(self, path: Path) -> None:
        lengths = np.array([len(data) for data in self.jpegs], dtype=np.int64)
        np.savez(path, data=np.frombuffer(b"".join(self.jpegs), dtype=np.uint8), lengths=lengths)

    @classmethod
    def load(cls, path: Path) -> "JpegFrames":
        with np.load(path, allow_pickle=False) as stored:
            data, lengths = stored["data"], stored["lengths"]
        if lengths.sum() != len(data):
            raise ValueError(f"{path.name} holds {len(data)} bytes of JPEG for {lengths.sum()}")
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return cls([data[start: start + length] for start, length in zip(starts, lengths)])  # views of one buffer
