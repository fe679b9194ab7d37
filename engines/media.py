"""Decode, encode and probe audio/video with PyAV (its wheels bundle FFmpeg).

Everything the API accepts is read here and every video the product writes is
written here, so no system ffmpeg is needed.
"""
from __future__ import annotations

import os
import queue
import threading
import wave
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from engines.messages import Message, gettext_noop

OUTPUT_FPS = 25
OUTPUT_AUDIO_RATE = 44100

# A decoded stream shorter than this share of what the container declares is
# treated as truncated (a cut download, an interrupted copy).
COMPLETE_SHARE = 0.9
# A file whose streams run on past the longest duration it declares (the file's, or its soundtrack's)
# divided by COMPLETE_SHARE, plus these seconds, is refused: every length limit is checked against the
# declared duration, and the jobs read no further than that allows.
OVERRUN_SLACK_SECONDS = 2.0
# Packets of a video that states no frame size read to find its first frame (a stream cut mid-way
# starts with frames that need a keyframe before them: one second's worth at 25 fps).
SIZE_PACKETS = 25
# The frame-size limit that probe and iter_video_frames apply while a job runs (frame_sides_at_most): a video
# stored before the limit was checked, or under a higher one, is refused there instead of decoded.
_frame_side_limit: ContextVar[int | None] = ContextVar("frame_side_limit", default=None)


class MediaError(ValueError):
    """The file is not decodable media of the expected kind; the message says why."""


@dataclass
class MediaInfo:
    container: str
    duration: float
    has_audio: bool
    has_video: bool
    audio_codec: str = ""
    sample_rate: int = 0
    channels: int = 0
    video_codec: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    # What the soundtrack declares; longer than `duration` (the picture's) in a screen capture whose picture
    # stopped early. Jobs read the sound no further than `duration` allows (load_declared_audio).
    audio_duration: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def _open(path: str | os.PathLike, options: dict[str, str] | None = None) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore", options=options)
    except (av.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaError(gettext_noop("not readable as audio or video ({reason})", reason=_reason(exc))) from exc


def _reason(exc: Exception) -> Message | str:
    """What the decoder said, FFmpeg's words marked as its own: they stay in English, as it wrote them,
    inside a sentence in the reader's language. Its `strerror`, not its text, which names the file
    with the server's path."""
    words = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return gettext_noop("FFmpeg says: {words}", words=words) if isinstance(exc, av.FFmpegError) else words


def corrupt(kind: str, exc: Exception) -> Message:
    """Why `kind` ("audio" or "video") data could not be decoded."""
    if kind == "audio":
        return gettext_noop("the audio data is corrupt ({reason})", reason=_reason(exc))
    return gettext_noop("the video data is corrupt ({reason})", reason=_reason(exc))


def _duration(container, stream) -> float:
    if stream is not None and stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


@contextmanager
def frame_sides_at_most(most: int | None) -> Iterator[None]:
    """Within the block (in this thread), probe and iter_video_frames refuse a video whose frames are wider or
    taller than `most` as probe's `max_frame_side` does; None lifts the limit (a job reading its own output)."""
    token = _frame_side_limit.set(most)
    try:
        yield
    finally:
        _frame_side_limit.reset(token)


def probe(path: str | os.PathLike, max_frame_side: int | None = None) -> MediaInfo:
    """Container-level facts, read from headers where they suffice (fast).

    A video's first frame is decoded for its display rotation (and its size, where the file states
    none), and a file whose header declares no duration is demuxed to the end to measure it. With
    `max_frame_side`, a video whose stored frames are wider or taller than that is refused before a
    frame larger than that is decoded (within frame_sides_at_most, its limit unless given).
    """
    if max_frame_side is None:
        max_frame_side = _frame_side_limit.get()
    if max_frame_side is not None:
        _check_frame_size(path, max_frame_side)
    with _open(path) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        video = container.streams.video[0] if container.streams.video else None
        if audio is None and video is None:
            raise MediaError(gettext_noop("the file has neither an audio nor a video stream"))
        info = MediaInfo(
            container=container.format.name,
            duration=_duration(container, video or audio),
            has_audio=audio is not None,
            has_video=video is not None,
        )
        if audio is not None:
            info.audio_codec = audio.codec_context.name
            info.sample_rate = audio.codec_context.sample_rate or 0
            info.channels = audio.codec_context.channels or 0
            info.audio_duration = _duration(container, audio)
        if video is not None:
            info.video_codec = video.codec_context.name
            first = _first_frame(container, video)
            # The size the container states, else the first frame's (MPEG-TS states none).
            info.width = video.codec_context.width or (first.width if first else 0)
            info.height = video.codec_context.height or (first.height if first else 0)
            # Phones store portrait video sideways with a display rotation; report the size
            # players show (and iter_video_frames yields), not the stored one.
            if first is not None and _quarter_turns(first.rotation or 0) % 2:
                info.width, info.height = info.height, info.width
            rate = video.average_rate or video.guessed_rate or video.base_rate
            info.fps = float(rate) if rate else 0.0
    if info.duration <= 0:
        # Live-mode WebM (what browsers' MediaRecorder writes) has no duration in its header;
        # without this it would be judged 0 s long and refused as too short.
        info.duration = _measured_duration(path, "video" if info.has_video else "audio")
    return info


def _check_frame_size(path: str | os.PathLike, max_side: int) -> None:
    """Refuse a video whose stored frames are wider or taller than `max_side`, decoding none of them where the
    file states their size, and at most one frame of at most `max_side` squared pixels where it does not.

    A frame 16000 pixels on a side takes over a gigabyte once decoded and turned into RGB, and
    FFmpeg's stream analysis on opening a file decodes a first frame unless frames are skipped; a
    decoder that learns the size only by decoding (PNG, WebP) decodes it even then, unless it may not
    allocate that many pixels.
    """
    largest = {"max_pixels": str(max_side * max_side)}
    with _open(path, options={"skip_frame": "all", **largest}) as container:
        if not container.streams.video:
            return
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not (width and height):
            # Not stated (MPEG-TS states none, and the analysis gives up when the picture starts late).
            stream.codec_context.options = largest
            width, height = _first_frame_size(container, stream)
    if not (width and height):
        raise MediaError(gettext_noop("the video's frame size cannot be read: it is not stated and no frame of at most "
                                      "{most} x {most} pixels decodes", most=max_side))
    if max(width, height) > max_side:
        raise MediaError(gettext_noop("the video's frames are too large: {width} x {height} pixels, at most {most} on a side",
                                      width=width, height=height, most=max_side))


def _first_frame_size(container, stream) -> tuple[int, int]:
    """(width, height) of the stream's first frame, (0, 0) when none decodes from its first packets. A
    decoder that reads the size from the frame's header before refusing to decode it still reports it."""
    for count, packet in enumerate(container.demux(stream)):
        try:
            frames = stream.codec_context.decode(packet)
        except av.FFmpegError:
            frames = []
        if frames:
            return frames[0].width, frames[0].height
        if stream.codec_context.width and stream.codec_context.height:
            return stream.codec_context.width, stream.codec_context.height
        if count >= SIZE_PACKETS:
            break
    return 0, 0


def _measured_duration(path: str | os.PathLike, kind: str) -> float:
    """Seconds from the file's origin to the end of its first `kind` stream, found by demuxing
    every packet (and decoding a few frames), as verify does; 0 when nothing can be read."""
    with _open(path) as container:
        stream = container.streams.audio[0] if kind == "audio" else container.streams.video[0]
        try:
            end, _ = _decoded_extent(container, stream, decode_all=False)
        except av.FFmpegError:
            return 0.0  # damaged data: verify says so, probe only reports what it can
        return max(0.0, end - _media_origin(container)) if end > 0 else 0.0


def _stream_start(stream) -> float | None:
    if stream is None or stream.start_time is None or not stream.time_base:
        return None
    return float(stream.start_time * stream.time_base)


def _media_origin(container) -> float:
    """Seconds at which the file's playback starts: the earliest start of its first audio and
    video streams (the container's start_time when neither declares one).

    Recordings cut from a stream or a camera often start at e.g. 1.4 s; video frames and audio
    samples are both measured from this origin so they stay aligned with each other.
    """
    streams = [kind[0] for kind in (container.streams.audio, container.streams.video) if kind]
    starts = [start for start in map(_stream_start, streams) if start is not None]
    if starts:
        return min(starts)
    if container.start_time is not None:
        return container.start_time / av.time_base
    return 0.0


def _first_frame(container, stream) -> av.VideoFrame | None:
    """The stream's first frame, whose display matrix says how it is turned (PyAV exposes the matrix only
    on decoded frames); None when it cannot be decoded (verify reports the damage)."""
    try:
        for frame in container.decode(stream):
            return frame
    except av.FFmpegError:
        pass
    return None


def _quarter_turns(degrees: float) -> int:
    """Counter-clockwise quarter turns for np.rot90, nearest to `degrees` (matrices are never off-axis in practice)."""
    return int(round(degrees / 90.0)) % 4


def verify(path: str | os.PathLike, expect: str, max_frame_side: int | None = None) -> MediaInfo:
    """Prove the file really is complete audio (`expect="audio"`) or video (`"video"`), holding no
    more than it declares; with `max_frame_side`, a video's frames are no wider or taller than that.

    Audio is decoded; video is demuxed and its first frames decoded, with its soundtrack.
    What is read is compared with the duration the container declares, so a file cut short is
    refused instead of being stored, and so is one that holds more than it declares (reading stops
    just past that): more than its own duration or its soundtrack's, whichever is longer.
    """
    if expect not in ("audio", "video"):
        raise ValueError(f"expect must be 'audio' or 'video', not {expect!r}")
    info = probe(path, max_frame_side)
    if expect == "audio" and not info.has_audio:
        raise MediaError(gettext_noop("the file contains no audio stream"))
    if expect == "video" and not info.has_video:
        raise MediaError(gettext_noop("the file contains no video stream"))
    if expect == "video" and _is_still_image(info.container):
        # FFmpeg reads a picture as a video of one frame.
        raise MediaError(gettext_noop("the file is a still image ({container}), not a video", container=info.container))
    if expect == "audio" and info.has_video and info.audio_duration > longest_accepted(info.duration):
        # Sent as audio, the sound is the content; but the file's length is its picture's, which every length
        # limit and every job (load_declared_audio) goes by: the sound past it would be dropped without a word.
        raise MediaError(gettext_noop("the soundtrack runs {seconds:.1f} s past the picture, and only the sound under the picture "
                                      "would be used: send the sound as an audio file", seconds=info.audio_duration - info.duration))
    declared = max(info.duration, info.audio_duration)
    overrun = longest_accepted(declared)
    try:
        with _open(path) as container:
            stream = container.streams.audio[0] if expect == "audio" else container.streams.video[0]
            decoded_until, furthest = _decoded_extent(container, stream, decode_all=expect == "audio", stop_past=overrun)
            furthest -= _media_origin(container)
    except av.FFmpegError as exc:
        raise MediaError(corrupt(expect, exc)) from exc
    if decoded_until <= 0:
        raise MediaError(gettext_noop("no audio could be decoded from the file") if expect == "audio"
                         else gettext_noop("no video could be decoded from the file"))
    if info.duration > 0.2 and decoded_until < COMPLETE_SHARE * info.duration:
        raise MediaError(gettext_noop("the file looks truncated: it declares {declared:.1f} s but only {read:.1f} s could be read",
                                      declared=info.duration, read=decoded_until))
    if furthest > overrun:
        raise MediaError(gettext_noop("the file holds more than it declares: it declares {declared:.1f} s but runs past {read:.1f} s",
                                      declared=declared, read=overrun))
    if info.container == "wav":
        _check_wav_length(path)
    if info.duration <= 0:
        info.duration = decoded_until
    return info


def longest_accepted(declared: float) -> float:
    """Seconds a file declaring `declared` may run to and still pass verify."""
    return declared / COMPLETE_SHARE + OVERRUN_SLACK_SECONDS


def _is_still_image(container: str) -> bool:
    """FFmpeg's picture demuxers: image2 (JPEG and other files named as images) and one per format (png_pipe, ...)."""
    return container == "image2" or container.endswith("_pipe")


def _check_wav_length(path: str | os.PathLike) -> None:
    """FFmpeg sizes a WAV by the file, so compare the header's declared data size instead."""
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if handle.read(12)[8:12] != b"WAVE":
            return
        for _ in range(64):  # a WAV has a handful of chunks before "data"
            header = handle.read(8)
            if len(header) < 8:
                return
            declared = int.from_bytes(header[4:], "little")
            if header[:4] == b"data":
                present = size - handle.tell()
                # Streaming writers leave 0 or 0xFFFFFFFF when the length was unknown.
                if declared not in (0, 0xFFFFFFFF) and present < COMPLETE_SHARE * declared:
                    raise MediaError(gettext_noop("the file looks truncated: its header declares {declared} bytes of samples "
                                                  "but only {present} are present", declared=declared, present=present))
                return
            handle.seek(declared + (declared & 1), os.SEEK_CUR)


def _decoded_extent(container, stream, decode_all: bool, frames_to_decode: int = 5,
                    stop_past: float | None = None) -> tuple[float, float]:
    """Seconds of media actually present in `stream` (0 when none decodes), and the furthest
    timestamp reached by it or the file's first stream of the other kind (a video's soundtrack);
    with `stop_past`, reading stops once that furthest passes it."""
    others = [kind[0] for kind in (container.streams.audio, container.streams.video) if kind and kind[0].index != stream.index]
    stop_at = None if stop_past is None else stop_past + _media_origin(container)
    end = furthest = 0.0
    decoded = 0
    for packet in container.demux([stream, *others]):
        if packet.size == 0:
            continue
        if packet.stream.index == stream.index and (decode_all or decoded < frames_to_decode):
            for frame in packet.decode():
                decoded += 1
                if frame.pts is not None and frame.time_base:
                    frame_end = float(frame.pts * frame.time_base)
                    if isinstance(frame, av.AudioFrame):
                        frame_end += frame.samples / frame.sample_rate
                    end = max(end, frame_end)
        time_base = packet.stream.time_base
        if packet.pts is not None and time_base:
            duration = float(packet.duration * time_base) if packet.duration else 0.0
            packet_end = float(packet.pts * time_base) + duration
            furthest = max(furthest, packet_end)
            if packet.stream.index == stream.index:
                end = max(end, packet_end)
        if stop_at is not None and furthest > stop_at:
            break
    if decoded == 0:
        return 0.0, furthest
    return end, furthest


def load_audio(path: str | os.PathLike, sample_rate: int = 16000, max_seconds: float | None = None) -> np.ndarray:
    """The file's first audio stream as mono float32 in [-1, 1] at `sample_rate`; with `max_seconds`, only
    that much of its start, decoding no further (the memory it takes is bounded whatever the file holds)."""
    chunks: list[np.ndarray] = []
    wanted = None if max_seconds is None else int(max_seconds * sample_rate)
    collected = 0
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(gettext_noop("the file contains no audio stream"))
        stream = container.streams.audio[0]
        origin = _media_origin(container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        # Where the first decoded sample lies after the file's origin; audio that starts after
        # the video gets that much silence in front so sample 0 is the video's frame 0 instant.
        lead: float | None = None
        try:
            for frame in container.decode(stream):
                if lead is None:
                    lead = float(frame.pts * frame.time_base) - origin if frame.pts is not None and frame.time_base else 0.0
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                    collected += len(chunks[-1])
                # Samples decoded before the origin are dropped below: they do not count towards `wanted`.
                if wanted is not None and collected >= wanted + max(0, -round(lead * sample_rate)):
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            raise MediaError(corrupt("audio", exc)) from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    samples = np.clip(np.concatenate(chunks).astype(np.float32), -1.0, 1.0)
    shift = int(round((lead or 0.0) * sample_rate))
    if wanted is not None:
        shift = min(shift, wanted)  # sound starting hours in: no more silence than the part asked for
    if shift > 0:
        samples = np.concatenate([np.zeros(shift, dtype=np.float32), samples])
    elif shift < 0:  # decoded before the origin (only with odd headers): drop what precedes it
        samples = samples[-shift:]
    return samples if wanted is None else samples[:wanted]


def load_declared_audio(path: str | os.PathLike, sample_rate: int = 16000) -> np.ndarray:
    """load_audio of no more than the file declares (as verify accepts it): the length limits were
    checked against the declared duration, and a file holding far more (stored before uploads were
    checked for it) would otherwise be read whole by the job."""
    return load_audio(path, sample_rate, max_seconds=longest_accepted(probe(path).duration))


AI_GENERATED = "AI-generated with EchOfU"  # the comment every rendered video carries


def container_comment(path: str | os.PathLike) -> str:
    with _open(path) as container:
        return container.metadata.get("comment", "")


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono 16-bit PCM WAV."""
    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())


def iter_video_frames(path: str | os.PathLike, fps: float | None = None, every: int = 1) -> Iterator[np.ndarray]:
    """RGB uint8 frames of the first video stream; resampled to `fps` when given, else every `every`-th
    frame (the others are decoded, which H.264 needs, but never converted to RGB).

    Resampling keeps, for each output tick, the latest source frame at or before
    it (frames are dropped or repeated, never blended). Within frame_sides_at_most, a video whose frames
    are larger than its limit is refused before any is decoded.
    """
    if (most := _frame_side_limit.get()) is not None:
        _check_frame_size(path, most)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(gettext_noop("the file contains no video stream"))
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        # Timestamps count from the file's origin, not from 0: a file whose audio and video
        # both start at 1.4 s must not get 1.4 s of copies of its first frame (load_audio
        # measures from the same origin), while a video starting after its audio still is.
        origin = _media_origin(container)
        next_tick = 0
        previous = None
        try:
            for index, frame in enumerate(container.decode(stream)):
                if fps is None and index % every:
                    continue
                image = frame.to_ndarray(format="rgb24")
                # Stored pixels follow the sensor; the display matrix (frame.rotation, degrees
                # counter-clockwise, e.g. -90 for a portrait phone video) says how players turn
                # them upright, and face detection needs them upright too.
                turns = _quarter_turns(frame.rotation or 0)
                if turns:
                    image = np.ascontiguousarray(np.rot90(image, turns))
                if fps is None:
                    yield image
                    continue
                timestamp = float(frame.pts * frame.time_base) - origin if frame.pts is not None else next_tick / fps
                while next_tick / fps < timestamp - 0.5 / fps and previous is not None:
                    yield previous
                    next_tick += 1
                if next_tick / fps <= timestamp + 0.5 / fps:
                    yield image
                    next_tick += 1
                previous = image
        except av.FFmpegError as exc:
            raise MediaError(corrupt("video", exc)) from exc


class VideoWriter:
    """MP4 with H.264 video and AAC audio that browsers play and can seek (faststart).

    Audio is interleaved with the video as frames are written, so memory stays
    bounded for long renders.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: int = OUTPUT_FPS,
        audio: np.ndarray | None = None,
        audio_rate: int = 16000,
        crf: int = 20,
        preset: str = "veryfast",
        comment: str = "",
        metadata: dict[str, str] | None = None,
    ) -> None:
        if width % 2 or height % 2:
            raise ValueError("H.264 in yuv420p needs even width and height")
        self.path = Path(path)
        self.fps = fps
        self.frames_written = 0
        self._container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        if comment:
            self._container.metadata["comment"] = comment
        for name, value in (metadata or {}).items():
            self._container.metadata[name] = value
        self._video = self._container.add_stream("libx264", rate=fps)
        self._video.width = width
        self._video.height = height
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"crf": str(crf), "preset": preset}
        self._audio_stream = None
        self._audio = None
        self._audio_sent = 0
        if audio is not None and len(audio):
            self._audio = _resample(np.asarray(audio, dtype=np.float32), audio_rate, OUTPUT_AUDIO_RATE)
            self._audio_stream = self._container.add_stream("aac", rate=OUTPUT_AUDIO_RATE)
            self._audio_stream.layout = "mono"

    def write(self, frame: np.ndarray) -> None:
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self.frames_written
        video_frame.time_base = Fraction(1, self.fps)
        self._container.mux(self._video.encode(video_frame))
        self.frames_written += 1
        self._send_audio_until(self.frames_written / self.fps)

    def _send_audio_until(self, seconds: float | None) -> None:
        if self._audio is None:
            return
        end = len(self._audio) if seconds is None else min(len(self._audio), int(seconds * OUTPUT_AUDIO_RATE))
        self._audio_sent = _encode_audio(self._container, self._audio_stream, self._audio, self._audio_sent, end)

    def close(self) -> None:
        if self._container is None:
            return
        self._send_audio_until(None)
        self._container.mux(self._video.encode(None))
        if self._audio_stream is not None:
            self._container.mux(self._audio_stream.encode(None))
        self._container.close()
        self._container = None

    def abort(self) -> None:
        """Close without finishing and remove the partial file."""
        if self._container is not None:
            try:
                self._container.close()
            except av.FFmpegError:
                pass
            self._container = None
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class EncodingThread:
    """Feeds a VideoWriter from a thread of its own, so the caller draws the next frames meanwhile.

    Converting to YUV and handing frames to x264 otherwise keeps the drawing thread waiting for
    a quarter of a render. `prepare` runs on the encoding thread before each frame is written.
    At most `depth` frames wait; a write error is raised to the caller at its next `put` or at the end.
    """

    def __init__(self, writer: VideoWriter, prepare: Callable[[np.ndarray], np.ndarray] | None = None, depth: int = 32):
        self._writer = writer
        self._prepare = prepare
        self._frames: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="encode")
        self._thread.start()

    def _run(self) -> None:
        while (frame := self._frames.get()) is not None:
            if self._error is None:
                try:
                    self._writer.write(self._prepare(frame) if self._prepare else frame)
                except BaseException as exc:  # raised to the caller
                    self._error = exc

    def put(self, frame: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        self._frames.put(frame)

    def __enter__(self) -> "EncodingThread":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._frames.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error


def join_video_streams(parts: list[Path], out_path: str | os.PathLike, audio: np.ndarray | None = None, audio_rate: int = 16000,
                       metadata: dict[str, str] | None = None) -> int:
    """One MP4 of the parts' H.264 video played in turn, copied without re-encoding, with `audio`
    (AAC) as its only sound and `metadata` on the container. Returns the frames written.

    The parts must come from one encoder configuration (same size, rate and H.264 parameters, as
    VideoWriter makes them); MediaError otherwise, and the caller re-encodes instead.
    """
    inputs = [_open(part) for part in parts]
    try:
        streams = [container.streams.video[0] if container.streams.video else None for container in inputs]
        first = streams[0]
        for stream in streams:
            if stream is None or stream.codec_context.name != "h264" or (stream.width, stream.height) != (first.width, first.height) \
                    or stream.codec_context.extradata != first.codec_context.extradata or stream.average_rate != first.average_rate:
                raise MediaError("the videos differ in size, rate or H.264 parameters: they cannot be joined without re-encoding")
        fps = first.average_rate
        output = av.open(str(out_path), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            for name, value in (metadata or {}).items():
                output.metadata[name] = value
            video = output.add_stream_from_template(first)
            sound = None
            if audio is not None and len(audio):
                samples = _resample(np.asarray(audio, dtype=np.float32), audio_rate, OUTPUT_AUDIO_RATE)
                sound = output.add_stream("aac", rate=OUTPUT_AUDIO_RATE)
                sound.layout = "mono"
            frames, sent = 0, 0
            for container, stream in zip(inputs, streams):
                ticks_per_frame = int(round(1 / (fps * stream.time_base)))
                offset, count = frames * ticks_per_frame, 0
                for packet in container.demux(stream):
                    if packet.dts is None:  # the demuxer's end-of-stream marker
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    packet.stream = video
                    output.mux(packet)
                    count += 1
                frames += count
                if sound is not None:  # the sound up to the end of this part, so the file stays interleaved
                    end = min(len(samples), int(frames / fps * OUTPUT_AUDIO_RATE))
                    sent = _encode_audio(output, sound, samples, sent, end)
            if sound is not None:
                _encode_audio(output, sound, samples, sent, len(samples))
                output.mux(sound.encode(None))
        except BaseException:
            output.close()
            Path(out_path).unlink(missing_ok=True)
            raise
        output.close()
        return frames
    finally:
        for container in inputs:
            container.close()


def _encode_audio(output, stream, samples: np.ndarray, start: int, end: int) -> int:
    if end > start:
        frame = av.AudioFrame.from_ndarray(samples[start:end].reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = OUTPUT_AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, OUTPUT_AUDIO_RATE)
        output.mux(stream.encode(frame))
    return max(start, end)


def _resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    if source_rate == target_rate or not len(samples):
        return samples
    duration = len(samples) / source_rate
    target_times = np.arange(int(round(duration * target_rate))) / target_rate
    source_times = np.arange(len(samples)) / source_rate
    return np.interp(target_times, source_times, samples).astype(np.float32)
