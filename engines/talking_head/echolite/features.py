"""Audio features aligned to video frames: windows of Whisper's speech states around each frame, and loudness.

The states (`engines.speech_states`) carry what is said rather than who says it, so a mouth learned
from one person's voice follows a cloned voice or another speaker too. There are 50 a second, two
per 25 fps frame.
"""
from __future__ import annotations

import numpy as np

from engines.speech_states import SAMPLE_RATE, STATE_SIZE, STATES_PER_SECOND, SpeechEncoder

# Encoder states per frame window: 0.48 s of speech, centred a little after the frame because the
# encoder's states trail the sound they describe (measured: best linear fit to lip opening at +2..+3 frames).
CONTEXT = 24
CONTEXT_DELAY_STATES = 4


def encoder_states(audio: np.ndarray, encoder: SpeechEncoder | None = None) -> np.ndarray:
    """Whisper encoder states of `audio` (see SpeechEncoder.states), loading Whisper when no encoder is given."""
    return (encoder or SpeechEncoder()).states(audio)


def frame_windows(states: np.ndarray, frame_count: int, fps: float, offset_frames: int = 0) -> np.ndarray:
    """(frame_count, STATE_SIZE, CONTEXT) float16 windows; frame i reads the sound of frame i + offset_frames."""
    per_frame = STATES_PER_SECOND / fps
    centres = np.round((np.arange(frame_count) + offset_frames + 0.5) * per_frame).astype(int) + CONTEXT_DELAY_STATES
    index = np.clip(centres[:, None] + np.arange(-CONTEXT // 2, CONTEXT // 2)[None], 0, len(states) - 1)
    return np.ascontiguousarray(states[index].transpose(0, 2, 1))


def frame_energy(audio: np.ndarray, frame_count: int, fps: float) -> np.ndarray:
    """Loudness (dB) of the audio under each video frame, for the sync measurements."""
    hop = SAMPLE_RATE / fps
    energy = np.empty(frame_count, dtype=np.float32)
    for index in range(frame_count):
        chunk = audio[int(index * hop): int((index + 1) * hop)]
        energy[index] = 10 * np.log10(np.mean(chunk**2) + 1e-10) if len(chunk) else -100.0
    return energy
