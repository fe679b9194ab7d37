"""Talking-face test videos made here: a real photo whose mouth moves with espeak-ng speech.

The face is scikit-image's bundled astronaut portrait. The jaw drops with the speech energy,
and the head moves, the eyes blink and the light drifts, so a model cannot pass by copying a
still frame. Bad inputs for the quality gate come from the same pieces.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from engines.face_tracking import FaceAnalyzer
from engines.media import VideoWriter, load_audio, write_wav

AUDIO_RATE = 16000
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call me back when you get this message.",
    "We trained the model on a short video of one person.",
    "Open the window and let the fresh air come in.",
    "Numbers like seven, eleven and ninety nine are easy to say.",
    "She sells sea shells by the sea shore every summer.",
    "A digital human speaks with the voice you gave it.",
    "Good morning, how are you doing today?",
    "The weather will be warm and sunny all week long.",
    "Remember to save your work before you leave.",
]


def face_image(size: int = 512) -> np.ndarray:
    from skimage import data

    image = data.astronaut()
    return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) if size != image.shape[0] else image.copy()


def speech(seconds: float, seed: int = 0, voice: str = "en", rate: int = AUDIO_RATE) -> np.ndarray:
    """`seconds` of espeak-ng speech (sentences in a seeded order, short pauses between them)."""
    generator = np.random.default_rng(seed)
    pieces, total = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(200):
            if total >= seconds * rate:
                break
            sentence = SENTENCES[generator.integers(len(SENTENCES))]
            out = Path(tmp) / f"{attempt}.wav"
            words_per_minute = int(generator.integers(140, 190))
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(out), sentence], check=True, timeout=30)
            clip = load_audio(out, rate)
            pause = np.zeros(int(generator.uniform(0.15, 0.6) * rate), dtype=np.float32)
            pieces += [clip, pause]
            total += len(clip) + len(pause)
    audio = np.concatenate(pieces)[: int(seconds * rate)]
    return np.pad(audio, (0, int(seconds * rate) - len(audio)))


def energy_envelope(audio: np.ndarray, fps: int, frames: int, rate: int = AUDIO_RATE) -> np.ndarray:
    """Speech loudness per video frame, 0..1."""
    hop = rate / fps
    rms = np.array([np.sqrt(np.mean(audio[int(i * hop): int((i + 1) * hop)] ** 2) + 1e-12) for i in range(frames)])
    level = np.clip((20 * np.log10(rms + 1e-8) + 45) / 30, 0, 1)  # -45 dBFS silent .. -15 dBFS loud
    return np.convolve(level, [0.25, 0.5, 0.25], mode="same")


class MouthAnimator:
    """Opens the mouth of one still face by dropping the jaw and drawing the mouth cavity."""

    def __init__(self, image: np.ndarray, points: np.ndarray):
        self.image = image
        height, width = image.shape[:2]
        self.lip_y = float(points[60:68, 1].mean())
        self.left, self.right = float(points[48, 0]), float(points[54, 0])
        self.center_x = (self.left + self.right) / 2
        self.half_width = (self.right - self.left) / 2
        self.chin_y = float(points[8, 1])
        self.max_open = 0.55 * self.half_width
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        across = np.clip(1 - np.abs(xs - self.center_x) / (self.half_width * 1.9), 0, 1)
        below = np.where(ys < self.lip_y, 0.0, np.clip(1 - (ys - self.chin_y) / (0.35 * (self.chin_y - self.lip_y) + 1), 0, 1))
        self.weight = (np.sin(across * np.pi / 2) ** 2 * below).astype(np.float32)
        self.xs, self.ys = xs, ys
        self.eyes = [points[36:42], points[42:48]]
        self.skin = tuple(int(c) for c in image[int(points[29, 1]), int(points[29, 0])])

    def frame(self, opening: float, blink: bool) -> np.ndarray:
        drop = self.max_open * opening
        frame = cv2.remap(self.image, self.xs, self.ys - drop * self.weight, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if drop > 1:
            center = (int(self.center_x), int(self.lip_y + drop / 2))
            axes = (int(self.half_width * 0.8), max(1, int(drop / 2)))
            cv2.ellipse(frame, center, axes, 0, 0, 360, (70, 28, 32), -1, cv2.LINE_AA)
            teeth = (int(self.half_width * 0.55), max(1, int(drop / 6)))
            cv2.ellipse(frame, (center[0], int(self.lip_y + teeth[1])), teeth, 0, 0, 360, (225, 220, 210), -1, cv2.LINE_AA)
        if blink:
            for eye in self.eyes:
                (x, y), (w, h), angle = cv2.minAreaRect(eye.astype(np.float32))
                cv2.ellipse(frame, (int(x), int(y)), (int(max(w, h) * 0.65), int(min(w, h) * 1.4 + 3)), 0, 0, 360, self.skin, -1, cv2.LINE_AA)
        return frame


def head_motion(frame: np.ndarray, t: float, strength: float, phases: np.ndarray) -> np.ndarray:
    if strength <= 0:
        return frame
    height, width = frame.shape[:2]
    angle = 2.0 * strength * np.sin(2 * np.pi * t / 6.1 + phases[0])
    shift_x = 0.016 * width * strength * np.sin(2 * np.pi * t / 5.3 + phases[1])
    shift_y = 0.010 * height * strength * np.sin(2 * np.pi * t / 3.7 + phases[2])
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[:, 2] += (shift_x, shift_y)
    return cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def delayed(audio: np.ndarray, samples: int) -> np.ndarray:
    """`audio` made to trail by `samples` (lead, when negative), at the same length: silence fills in."""
    if samples >= 0:
        return np.concatenate([np.zeros(samples, audio.dtype), audio])[: len(audio)]
    return np.concatenate([audio[-samples:], np.zeros(-samples, audio.dtype)])


def make_talking_face_video(
    path: Path,
    seconds: float = 12.0,
    size: int = 256,
    fps: int = 25,
    seed: int = 0,
    with_audio: bool = True,
    motion: float = 1.0,
    blinks: bool = True,
    light_drift: float = 0.1,
    audio: np.ndarray | None = None,
    voice: str = "en",
    audio_delay_frames: int = 0,
) -> Path:
    """A talking-head clip whose lips follow its own soundtrack (or `audio`, 16 kHz, when given).

    `audio_delay_frames` > 0 makes the soundtrack trail the lips by that many frames, as in
    recordings from phones and screen captures.
    """
    image = face_image(size)
    analyzer = FaceAnalyzer()
    boxes = analyzer.detect(image)
    points = analyzer.landmarks(image, boxes[0])
    animator = MouthAnimator(image, points)
    frames = int(round(seconds * fps))
    sound = speech(seconds, seed, voice) if audio is None else audio
    envelope = energy_envelope(sound, fps, frames)
    if audio_delay_frames:
        sound = delayed(sound, audio_delay_frames * AUDIO_RATE // fps)
    generator = np.random.default_rng(seed + 1)
    phases = generator.uniform(0, 2 * np.pi, 3)
    blink_every = int(fps * generator.uniform(2.5, 4.0))
    with VideoWriter(path, size, size, fps=fps, audio=sound if with_audio else None, audio_rate=AUDIO_RATE) as writer:
        for index in range(frames):
            t = index / fps
            blink = blinks and index % blink_every in (0, 1)
            frame = animator.frame(float(envelope[index]), blink)
            frame = head_motion(frame, t, motion, phases)
            gain = 1 + light_drift * np.sin(2 * np.pi * t / 9.0 + phases[0])
            writer.write(np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8))
    return path


def make_multi_face_video(path: Path, seconds: float = 12.0, size: int = 256) -> Path:
    face = face_image(size // 2)
    frame = np.zeros((size, size, 3), dtype=np.uint8)
    frame[size // 4: size // 4 + size // 2, : size // 2] = face
    frame[size // 4: size // 4 + size // 2, size // 2:] = face[:, ::-1]
    return _still_video(path, frame, seconds)


def make_tiny_face_video(path: Path, seconds: float = 12.0, size: int = 512, face_size: int = 72) -> Path:
    frame = np.full((size, size, 3), 90, dtype=np.uint8)
    frame[:face_size, :face_size] = face_image(face_size)
    return _still_video(path, frame, seconds)


def make_still_face_video(path: Path, seconds: float = 12.0, size: int = 256) -> Path:
    """A face whose lips never move while speech plays: nothing to match the sound to."""
    return _still_video(path, face_image(size), seconds)


def _still_video(path: Path, frame: np.ndarray, seconds: float, fps: int = 25) -> Path:
    audio = speech(seconds, seed=7)
    with VideoWriter(path, frame.shape[1], frame.shape[0], fps=fps, audio=audio) as writer:
        for _ in range(int(seconds * fps)):
            writer.write(frame)
    return path


def write_speech_wav(path: Path, seconds: float, seed: int = 3, voice: str = "en") -> Path:
    write_wav(path, speech(seconds, seed, voice), AUDIO_RATE)
    return path
