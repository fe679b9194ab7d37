"""What every generated file says about itself: a metadata record, a visible label, an audio marker.

- The record (generator, model id, voice id, time, request id, source assets) is JSON written into
  the file's own metadata: MP4 `description` (next to the `comment` "AI-generated with EchOfU"),
  WAV `LIST/INFO` (`ISBJ`, with `ICMT` and `ISFT`). Re-encoding usually strips it.
- The visible label is a small "AI generated" plate drawn into the corner of every video frame, in
  the language asked for where a font on this machine draws that text (`label_text`), else in English.
- The audio marker survives re-encoding: a band-limited pseudo-random pattern (500-3500 Hz, where
  MP3 and AAC keep the signal) that repeats every `BLOCK` samples at 16 kHz, added at a fixed
  fraction of the host's own short-term loudness so it always sits well under the speech that
  masks it (inaudible by design) and vanishes in pauses. Detection resamples to 16 kHz,
  normalises loudness, folds the signal into one block (the host averages away, the pattern adds
  up) and looks for the pattern at every circular shift with a phase-only cross-correlation,
  so codec delay, trimming and resampling do not matter. The pattern comes from a key: only a
  detector that knows the key finds it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from scipy.signal import resample_poly

from engines import media
from engines.progress import Progress, no_progress

if TYPE_CHECKING:
    from PIL import ImageFont

GENERATOR = "EchOfU"
LABEL_TEXT = "AI generated"

MARK_RATE = 16000
BLOCK = 4096  # 0.256 s at 16 kHz: long enough for a sharp correlation peak, short enough to repeat often
MARK_BAND_HZ = (500.0, 3500.0)
MARK_STRENGTH = 0.08  # pattern RMS relative to the host's local RMS: -22 dB
ENVELOPE_SECONDS = 0.02
# A z-score of the correlation peak against the other shifts. Unmarked audio stays under ~5
# (the largest of 4096 Gaussian values); marked audio after MP3/AAC re-encoding scores far above.
DETECTION_THRESHOLD = 8.0
MIN_MARK_SECONDS = 1.0
# Of a file's start searched for the marker: it repeats every BLOCK, so a minute folds 234 repeats (4-7 s
# already score above the threshold), and the memory a search takes stays bounded: a whole upload's soundtrack
# (a low-bitrate track under the size limit lasts days) took 0.66 MB per second in the web server's process.
MARK_SCAN_SECONDS = 60.0


class ProvenanceError(ValueError):
    """The file cannot be read or written as provenance-carrying media."""


# --- the record -------------------------------------------------------------------------------


@dataclass
class Record:
    kind: str  # "video" or "audio"
    request_id: str
    model_id: str = ""
    voice_id: str = ""
    sources: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    generator: str = GENERATOR
    notice: str = media.AI_GENERATED

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Record | None":
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("generator") != GENERATOR or "request_id" not in data:
            return None
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        try:
            return cls(**known)
        except TypeError:
            return None


# --- the audio marker -------------------------------------------------------------------------


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"echofu-mark:{key}".encode()).digest()[:8], "little")


def marker_block(key: str) -> np.ndarray:
    """One period of the key's pattern at 16 kHz: flat spectrum in the band, random phases, unit RMS."""
    rng = np.random.default_rng(_seed(key))
    frequencies = np.fft.rfftfreq(BLOCK, 1 / MARK_RATE)
    band = (frequencies >= MARK_BAND_HZ[0]) & (frequencies <= MARK_BAND_HZ[1])
    spectrum = np.zeros(len(frequencies), dtype=np.complex128)
    spectrum[band] = np.exp(2j * np.pi * rng.random(int(band.sum())))
    block = np.fft.irfft(spectrum, BLOCK)
    return (block / np.sqrt(np.mean(block ** 2))).astype(np.float32)


def _envelope(samples: np.ndarray, rate: int) -> np.ndarray:
    """Short-term RMS, smoothed so the marker follows syllables but not single periods."""
    width = max(1, int(ENVELOPE_SECONDS * rate))
    kernel = np.ones(width, dtype=np.float64) / width
    power = np.convolve(samples.astype(np.float64) ** 2, kernel, mode="same")
    return np.sqrt(np.convolve(power, kernel, mode="same"))


def _to_rate(samples: np.ndarray, source: int, target: int) -> np.ndarray:
    if source == target:
        return samples.astype(np.float64)
    divisor = np.gcd(source, target)
    return resample_poly(samples.astype(np.float64), target // divisor, source // divisor)


def embed_marker(samples: np.ndarray, rate: int, key: str) -> np.ndarray:
    """Mono float samples in [-1, 1] with the key's marker added (same length and rate)."""
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if not len(samples):
        return samples
    length_16k = int(np.ceil(len(samples) * MARK_RATE / rate)) + BLOCK
    pattern = np.tile(marker_block(key), length_16k // BLOCK + 1)[:length_16k]
    pattern = _to_rate(pattern, MARK_RATE, rate)[: len(samples)]
    if len(pattern) < len(samples):
        pattern = np.pad(pattern, (0, len(samples) - len(pattern)))
    marked = samples + MARK_STRENGTH * _envelope(samples, rate) * pattern
    return np.clip(marked, -1.0, 1.0).astype(np.float32)


@dataclass
class Detection:
    found: bool
    score: float  # z-score of the correlation peak
    seconds: float  # audio examined

    def as_dict(self) -> dict:
        return {"found": self.found, "score": round(self.score, 2), "seconds": round(self.seconds, 2)}


def detect_marker(samples: np.ndarray, rate: int, key: str) -> Detection:
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    seconds = len(samples) / rate if rate else 0.0
    if seconds < MIN_MARK_SECONDS:
        return Detection(False, 0.0, seconds)
    signal = _to_rate(samples, rate, MARK_RATE)
    envelope = _envelope(signal, MARK_RATE)
    loud = envelope > max(1e-4, 0.05 * float(np.percentile(envelope, 95)))
    # The marker scales with loudness: dividing by it gives every loud block the same weight.
    normalised = np.where(loud, signal / np.maximum(envelope, 1e-9), 0.0)
    usable = len(normalised) // BLOCK * BLOCK
    if usable < BLOCK:
        return Detection(False, 0.0, seconds)
    folded = normalised[:usable].reshape(-1, BLOCK).sum(axis=0)
    reference = np.fft.rfft(marker_block(key))
    cross = np.fft.rfft(folded) * np.conj(reference)
    band = np.abs(reference) > 0
    cross[~band] = 0
    cross[band] /= np.maximum(np.abs(cross[band]), 1e-12)  # phase only: the host's spectrum drops out
    correlation = np.fft.irfft(cross, BLOCK)
    peak = int(np.argmax(correlation))
    others = np.delete(correlation, peak)
    score = float((correlation[peak] - others.mean()) / (others.std() + 1e-12))
    return Detection(score >= DETECTION_THRESHOLD, score, seconds)


def detect_marker_in_file(path: str | os.PathLike, key: str) -> Detection:
    """Decode the start of any audio or video file's first audio track and look for the marker there."""
    info = media.probe(path)
    if not info.has_audio:
        return Detection(False, 0.0, 0.0)
    rate = MARK_RATE * 2 if (info.sample_rate or 0) >= MARK_RATE * 2 else MARK_RATE
    return detect_marker(media.load_audio(path, rate, max_seconds=MARK_SCAN_SECONDS), rate, key)


# --- the visible label ------------------------------------------------------------------------

FONT_LOOKUP_SECONDS = 10
NO_CHARACTER = "\uffff"  # a Unicode noncharacter: no font has its glyph, so it draws as the font's missing-glyph box


@dataclass(frozen=True)
class LabelText:
    """What the label says, and the font file that draws it (None: PIL's built-in font, which has Latin letters only)."""
    text: str = LABEL_TEXT
    font: str | None = None

    def load_font(self, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        from PIL import ImageFont

        return ImageFont.truetype(self.font, size) if self.font else ImageFont.load_default(size=size)


def draws(font_path: str, text: str) -> bool:
    """Whether the font file loads, has a glyph for every character of `text` (none drawn as its
    missing-glyph box) and draws them: a damaged file can load and then fail on its outlines or hinting
    program, which would fail every job labelled with it."""
    from PIL import ImageFont

    def drawn(char: str) -> tuple:
        mask = font.getmask(char)
        return mask.size, bytes(mask)

    try:
        font = ImageFont.truetype(font_path, 24)
        missing = drawn(NO_CHARACTER)
        return all(drawn(char) != missing for char in set(text) if not char.isspace())
    except (OSError, ValueError):
        return False


def fontconfig_font(text: str) -> str | None:
    """The font file fontconfig (`fc-match`) picks for a sans-serif face with all of `text`'s characters;
    its best match even when none has them all, so check it with `draws`. None without fontconfig."""
    if shutil.which("fc-match") is None:
        return None
    charset = " ".join(f"{ord(char):x}" for char in sorted(set(text)) if not char.isspace())
    try:
        found = subprocess.run(["fc-match", "--format=%{file}", f"sans-serif:charset={charset}"],
                               capture_output=True, text=True, timeout=FONT_LOOKUP_SECONDS, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return found.stdout.strip() or None


def font_for(text: str, configured: str = "") -> str | None:
    """A font file that draws all of `text`: `configured` (a path) when it does, else the one fontconfig finds; None when neither does."""
    candidates = [configured] if configured else []
    candidates.append(fontconfig_font(text))
    return next((path for path in candidates if path and draws(path, text)), None)


def label_text(text: str, configured_font: str = "") -> LabelText | None:
    """`text` (a translation of LABEL_TEXT) with a font that draws it; None when no font here does, so
    that the caller labels in English (PIL's own font would draw Chinese as boxes) and says why."""
    if text.isascii():
        return LabelText(text)
    font = font_for(text, configured_font)
    return LabelText(text, font) if font else None


class Label:
    """The "AI generated" plate (`text`: in another language, with its font) for frames of one size,
    drawn once and blended into each frame."""

    def __init__(self, width: int, height: int, text: LabelText = LabelText()):
        from PIL import Image, ImageDraw

        font_size = max(10, min(width, height) // 22)
        font = text.load_font(font_size)
        left, top, right, bottom = font.getbbox(text.text)
        pad = max(3, font_size // 3)
        plate_w = min(width, right - left + 2 * pad)
        plate_h = min(height, bottom - top + 2 * pad)
        plate = Image.new("RGBA", (plate_w, plate_h), (0, 0, 0, 150))
        ImageDraw.Draw(plate).text((pad - left, pad - top), text.text, font=font, fill=(255, 255, 255, 255))
        rgba = np.asarray(plate, dtype=np.float32)
        margin = max(2, min(width, height) // 60)
        self._colour, self._alpha = rgba[..., :3], rgba[..., 3:] / 255.0
        self._x, self._y = max(0, width - plate_w - margin), max(0, height - plate_h - margin)  # bottom right

    @property
    def region(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the plate in the frame."""
        return self._x, self._y, self._alpha.shape[1], self._alpha.shape[0]

    def draw(self, frame: np.ndarray) -> np.ndarray:
        """The frame (RGB uint8) with the plate blended into its bottom-right corner."""
        x, y, w, h = self.region
        out = np.array(frame, copy=True)
        area = out[y:y + h, x:x + w].astype(np.float32)
        out[y:y + h, x:x + w] = (area * (1 - self._alpha) + self._colour * self._alpha + 0.5).astype(np.uint8)
        return out


# --- finishing files --------------------------------------------------------------------------


def finish_video(source: Path, target: Path, record: Record, key: str, label: LabelText | None, progress: Progress = no_progress,
                 labelled: bool = False) -> Path:
    """A rendered MP4 into `target` with the record, the label (`label`, None for none; not drawn again
    where the frames carry it: `labelled`) and the marked audio. Frames that need no label are copied, not re-encoded."""
    # The render's frames are its model's size: the limit on what users send does not apply to them.
    with media.frame_sides_at_most(None):
        return _finish_video(source, target, record, key, label, progress, labelled)


def _finish_video(source: Path, target: Path, record: Record, key: str, label: LabelText | None, progress: Progress, labelled: bool) -> Path:
    info = media.probe(source)
    if not info.has_video:
        raise ProvenanceError("the rendered file has no video stream")
    fps = int(round(info.fps)) or media.OUTPUT_FPS
    audio, audio_rate = None, media.OUTPUT_AUDIO_RATE
    if info.has_audio:
        audio = media.load_audio(source, audio_rate)
        if not detect_marker(audio, audio_rate, key).found:  # speech made here is marked already
            audio = embed_marker(audio, audio_rate, key)
    expected = max(1, int(info.duration * fps))
    metadata = {"comment": media.AI_GENERATED, "description": record.to_json()}
    if labelled or not label:
        try:
            media.join_video_streams([source], target, audio, audio_rate, metadata)
            return target
        except media.MediaError:
            pass  # not H.264: re-encoded below
    plate = Label(info.width, info.height, label) if label and not labelled else None  # labelled frames that were not H.264 too
    with media.VideoWriter(target, info.width, info.height, fps=fps, audio=audio, audio_rate=audio_rate,
                           metadata=metadata) as writer:
        for frame in media.iter_video_frames(source):
            writer.write(plate.draw(frame) if plate else frame)
            if writer.frames_written % 25 == 0:
                progress("provenance", min(writer.frames_written / expected, 1.0))
    return target


def finish_audio(path: Path, record: Record, key: str) -> Path:
    """Mark a generated WAV in place (atomically): marker in the samples, record in LIST/INFO."""
    info = media.probe(path)
    rate = info.sample_rate or MARK_RATE
    samples = embed_marker(media.load_audio(path, rate), rate, key)
    partial = path.with_name(f".{path.name}.partial")
    try:
        media.write_wav(partial, samples, rate)
        write_wav_record(partial, record)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


# --- reading and writing the record in files --------------------------------------------------


def _info_chunk(record: Record) -> bytes:
    items = b""
    for tag, text in ((b"ISFT", GENERATOR), (b"ICMT", media.AI_GENERATED), (b"ISBJ", record.to_json())):
        data = text.encode("utf-8") + b"\x00"
        items += tag + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    body = b"INFO" + items
    return b"LIST" + struct.pack("<I", len(body)) + body


def _riff_chunks(handle) -> list[tuple[bytes, int, int]]:
    """(id, data offset, data size) of each top-level chunk of a RIFF/WAVE file."""
    handle.seek(0)
    header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise ProvenanceError("not a RIFF/WAVE file")
    chunks = []
    size = os.fstat(handle.fileno()).st_size
    position = 12
    while position + 8 <= size and len(chunks) < 256:
        handle.seek(position)
        chunk_id, length = struct.unpack("<4sI", handle.read(8))
        chunks.append((chunk_id, position + 8, length))
        position += 8 + length + (length & 1)
    return chunks


def write_wav_record(path: str | os.PathLike, record: Record) -> None:
    """Append a LIST/INFO chunk with the record and fix the RIFF size."""
    with open(path, "r+b") as handle:
        _riff_chunks(handle)
        handle.seek(0, os.SEEK_END)
        if handle.tell() & 1:
            handle.write(b"\x00")
        handle.write(_info_chunk(record))
        total = handle.tell()
        handle.seek(4)
        handle.write(struct.pack("<I", total - 8))


def read_wav_record(path: str | os.PathLike) -> Record | None:
    with open(path, "rb") as handle:
        for chunk_id, offset, length in _riff_chunks(handle):
            if chunk_id != b"LIST":
                continue
            handle.seek(offset)
            body = handle.read(min(length, 1 << 20))
            if body[:4] != b"INFO":
                continue
            position = 4
            while position + 8 <= len(body):
                tag, size = struct.unpack("<4sI", body[position:position + 8])
                value = body[position + 8: position + 8 + size]
                if tag == b"ISBJ":
                    return Record.from_json(value.rstrip(b"\x00").decode("utf-8", "replace"))
                position += 8 + size + (size & 1)
    return None


def read_record(path: str | os.PathLike) -> Record | None:
    """The record a file carries in its metadata (WAV INFO or container tags), if any."""
    try:
        with open(path, "rb") as handle:
            is_wav = handle.read(12)[8:12] == b"WAVE"
        if is_wav:
            return read_wav_record(path)
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            return Record.from_json(container.metadata.get("description", ""))
    except (OSError, ProvenanceError, av.FFmpegError, UnicodeDecodeError):
        return None
