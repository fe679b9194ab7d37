"""Audio features aligned to video frames: log-mel windows centred on each frame."""
from __future__ import annotations

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 16000
HOP = 160  # 10 ms: 4 mel frames per 25 fps video frame
WINDOW = 400
N_MELS = 80
CONTEXT = 32  # mel frames per window: 0.32 s of sound around the frame

_FILTERS = torchaudio.functional.melscale_fbanks(
    n_freqs=WINDOW // 2 + 1, f_min=55.0, f_max=7600.0, n_mels=N_MELS, sample_rate=SAMPLE_RATE, norm="slaney", mel_scale="slaney"
)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """(mel frames, N_MELS) log-mel spectrogram of 16 kHz mono audio."""
    signal = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    if signal.numel() < WINDOW:
        signal = torch.nn.functional.pad(signal, (0, WINDOW - signal.numel()))
    spectrum = torch.stft(signal, n_fft=WINDOW, hop_length=HOP, win_length=WINDOW, window=torch.hann_window(WINDOW), return_complex=True)
    power = spectrum.abs().pow(2).T  # (frames, freqs)
    return torch.log(power @ _FILTERS + 1e-6).numpy().astype(np.float32)


def frame_windows(mel: np.ndarray, frame_count: int, fps: float) -> np.ndarray:
    """(frame_count, 1, N_MELS, CONTEXT) windows, each centred on the middle of its video frame."""
    mels_per_second = SAMPLE_RATE / HOP
    padded = np.pad(mel, ((CONTEXT, CONTEXT), (0, 0)), mode="edge") if len(mel) else np.zeros((2 * CONTEXT, N_MELS), np.float32)
    windows = np.empty((frame_count, 1, N_MELS, CONTEXT), dtype=np.float32)
    for index in range(frame_count):
        center = int(round((index + 0.5) / fps * mels_per_second)) + CONTEXT
        windows[index, 0] = padded[center - CONTEXT // 2: center + CONTEXT // 2].T
    return windows


def frame_energy(audio: np.ndarray, frame_count: int, fps: float) -> np.ndarray:
    """Loudness (dB) of the audio under each video frame, for the sync measurement."""
    hop = SAMPLE_RATE / fps
    energy = np.empty(frame_count, dtype=np.float32)
    for index in range(frame_count):
        chunk = audio[int(index * hop): int((index + 1) * hop)]
        energy[index] = 10 * np.log10(np.mean(chunk**2) + 1e-10) if len(chunk) else -100.0
    return energy
