"""Small synthetic media files for tests: tones, browser-style recordings, plain videos."""
from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engines.media import VideoWriter, load_audio, write_wav


def tone(seconds: float = 1.0, rate: int = 16000, frequency: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)  # syllable-like loudness changes
    return (0.3 * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_tone_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    write_wav(path, tone(seconds, rate), rate)
    return path


def write_encoded_audio(path: Path, seconds: float = 1.0, codec: str = "libopus", container: str = "webm", rate: int = 48000) -> Path:
    """Audio in a compressed container, e.g. what MediaRecorder sends (WebM/Opus)."""
    samples = tone(seconds, rate)
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return path


def write_plain_video(path: Path, seconds: float = 1.0, size: tuple[int, int] = (64, 48), fps: int = 25, with_audio: bool = True,
                      audio_seconds: float | None = None) -> Path:
    """A moving gradient with an optional tone track (as long as the picture unless `audio_seconds`
    says otherwise): valid video with no face in it."""
    width, height = size
    audio = tone(seconds if audio_seconds is None else audio_seconds) if with_audio else None
    x = np.linspace(0, 255, width, dtype=np.float32)
    with VideoWriter(path, width, height, fps=fps, audio=audio, audio_rate=16000) as writer:
        for index in range(int(seconds * fps)):
            row = (x + index * 8) % 256
            frame = np.repeat(row[None, :, None], height, axis=0).repeat(3, axis=2).astype(np.uint8)
            writer.write(frame)
    return path


def write_matroska_video(path: Path, picture_seconds: float = 1.0, sound_seconds: float = 1.0, size: tuple[int, int] = (64, 48)) -> Path:
    """Matroska with black H.264 frames and silent AAC; Matroska declares one duration for the whole file
    (declare_matroska_duration changes it), none per stream."""
    width, height = size
    with av.open(str(path), "w", format="matroska") as output:
        picture = output.add_stream("libx264", rate=25)
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        sound = output.add_stream("aac", rate=16000)
        sound.layout = "mono"
        for index in range(int(picture_seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, 25)
            output.mux(picture.encode(frame))
        output.mux(picture.encode(None))
        samples = av.AudioFrame.from_ndarray(np.zeros((1, int(sound_seconds * 16000)), np.float32), format="flt", layout="mono")
        samples.sample_rate, samples.pts, samples.time_base = 16000, 0, Fraction(1, 16000)
        output.mux(sound.encode(samples))
        output.mux(sound.encode(None))
    return path


def declare_matroska_duration(path: Path, seconds: float) -> Path:
    """Overwrite the duration a Matroska/WebM file declares (its Info element's Duration, a float
    of milliseconds as PyAV writes it), leaving the media it holds as it was."""
    data = bytearray(path.read_bytes())
    at = data.index(b"\x44\x89\x88")  # the Duration element's ID and its 8-byte size
    data[at + 3:at + 11] = struct.pack(">d", seconds * 1000)
    path.write_bytes(bytes(data))
    return path


def write_sound_then_picture(path: Path, size: tuple[int, int] = (64, 48), sound_seconds: float = 8.0, picture_seconds: float = 0.2) -> Path:
    """MPEG-TS whose picture starts after `sound_seconds` of sound only. Its container states no frame size
    and FFmpeg's stream analysis gives up before the first picture: the size is known only from a frame."""
    width, height = size
    rate, chunk, fps = 16000, 1024, 25
    with av.open(str(path), "w", format="mpegts") as output:
        sound = output.add_stream("aac", rate=rate)
        sound.layout = "mono"
        picture = output.add_stream("libx264", rate=fps)
        picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
        picture.options = {"preset": "ultrafast"}
        for start in range(0, int((sound_seconds + picture_seconds) * rate), chunk):
            samples = av.AudioFrame.from_ndarray(np.zeros((1, chunk), np.float32), format="flt", layout="mono")
            samples.sample_rate, samples.pts, samples.time_base = rate, start, Fraction(1, rate)
            output.mux(sound.encode(samples))
        black = np.zeros((height, width, 3), np.uint8)
        for index in range(int(sound_seconds * fps), int((sound_seconds + picture_seconds) * fps)):
            frame = av.VideoFrame.from_ndarray(black, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(picture.encode(frame))
        output.mux(sound.encode(None))
        output.mux(picture.encode(None))
    return path


def lengthen_soundtrack(path: Path, seconds: float) -> Path:
    """Make an MP4's soundtrack last `seconds` by repeating its encoded sound packets, nothing re-encoded:
    a long soundtrack in a moment, where encoding one takes a minute per 20 minutes of sound. The picture's
    packets are kept as they are."""
    short = path.with_name(path.stem + ".short" + path.suffix)
    path.rename(short)
    with av.open(str(short)) as source, av.open(str(path), "w", format="mp4") as output:
        picture_in, sound_in = source.streams.video[0], source.streams.audio[0]
        picture_out, sound_out = output.add_stream_from_template(picture_in), output.add_stream_from_template(sound_in)
        sound_packets = []
        for packet in source.demux(picture_in, sound_in):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            if packet.stream is sound_in:
                sound_packets.append(packet)
                packet.stream = sound_out
            else:
                packet.stream = picture_out
            output.mux(packet)
        first, last = sound_packets[0], sound_packets[-1]
        span = last.pts + last.duration - first.pts  # in the sound's time base
        end = int(seconds / sound_in.time_base)
        shift = span
        while first.pts + shift < end:
            for packet in sound_packets:
                if packet.pts + shift >= end:
                    break
                packet.pts += shift
                packet.dts += shift
                output.mux(packet)
                packet.pts -= shift
                packet.dts -= shift
            shift += span
    short.unlink()
    return path


def write_black_png(path: Path, width: int, height: int) -> Path:
    """A black PNG of any size, compressed row by row: a 12000-pixel square takes 400 KB on disk and
    no memory to write, and 400 MB once decoded."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then black RGB pixels
    pixels = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def transcode_audio(source: str | os.PathLike, target: str | os.PathLike, codec: str, bitrate: int = 128_000) -> Path:
    """Re-encode a file's audio (`mp3` or `aac`), as a sharing site would: the marker must survive it."""
    formats = {"mp3": ("libmp3lame", "mp3"), "aac": ("aac", "adts")}
    encoder, container_format = formats[codec]
    rate = 44100
    samples = load_audio(source, rate)
    with av.open(str(target), "w", format=container_format) as output:
        stream = output.add_stream(encoder, rate=rate)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        for start in range(0, len(samples), 1152 * 8):
            chunk = samples[start:start + 1152 * 8]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return Path(target)
