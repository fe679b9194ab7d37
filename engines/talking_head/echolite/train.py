"""Fitting the personal LipNet on one video's crops and mouth shapes.

Trained the way it renders: the pixels around the mouth come from another, random frame of the
clip, never from the frame whose mouth is the target. Measured on a real clip, the unmasked
cheeks, nose and head pose of a frame predict its lip opening (r 0.56 on held-out frames), so a
network given its own frame's surroundings learns to read the mouth from them and, at render time
over looped frames, draws the loop's mouth instead of the speech's.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from engines.messages import Message, gettext_noop
from engines.progress import Progress
from engines.talking_head.echolite.mouth_shape import draw
from engines.talking_head.echolite.network import LipNet
from engines.talking_head.echolite.prepare import training_frame_count

# Without an explicit epoch count, a training job (input check, preparation, fitting and the
# self-evaluation) aims to end within this many seconds: it fits as many epochs as the speed
# measured on the machine at hand allows in what is left, between MIN_EPOCHS and MAX_EPOCHS.
DEFAULT_TRAIN_SECONDS = 270.0
MIN_EPOCHS, MAX_EPOCHS = 3, 60
# The timed batches leave out the optimiser's steps and each epoch's bookkeeping: whole epochs
# ran 6-12 % slower than they predicted (a 60 s 512x512 video took 294 s of a 270 s budget, a 16 s
# real clip 282-289 s), so the epochs are counted at this much more time per sample.
EPOCH_TIME_MARGIN = 1.15
# The speed is the fastest of a few timed batches: on a shared machine a moment of load slowed the
# one batch timed before, and a 60 s clip got 4 epochs in 149 s of its 270 (12 on the run before).
TIMED_BATCHES = 3
DEFAULT_LR = 2e-3
DEFAULT_BATCH = 32
# Edges (lip lines, teeth) count as much as colour: L1 alone settles on a blurred average mouth.
GRADIENT_WEIGHT = 1.0
# Predicted shapes at render time are smoother than tracked ones: a little noise (the whole mouth
# moved, and each point) keeps the painter tolerant.
SHAPE_NOISE_PX = 0.6
POINT_NOISE_PX = 0.3


@dataclass
class TrainingData:
    crops: torch.Tensor  # (N, 3, H, W) float 0..1
    shapes: np.ndarray  # (N, 20, 2) crop-space mouth points of each frame
    closed_mouth: torch.Tensor  # (3, H, W)
    exemplars: torch.Tensor  # (K, 3, H, W) real training mouths
    nearest: torch.Tensor  # (N,) exemplar nearest in shape to each frame, not from its own moment
    hard_mask: torch.Tensor  # (1, H, W)


# Throughput on 2 free CPU cores, measured on a 60 s 512x512 video: training samples/s; video frames/s
# through the input check, tracking, cropping and Whisper (66 s for 1500 frames); held-out frames/s
# of the self-evaluation (13 s for 225). For the estimate shown before a job starts. An H200 fitted about
# 12000 samples/s (bench/results/echolite_cuda_gpu_batches.json); the speed-up assumed leaves room for smaller GPUs.
CPU_SAMPLES_PER_SECOND = 31.0
CPU_FRAMES_PER_SECOND = 23.0
EVALUATION_FRAMES_PER_SECOND = 17.0
CUDA_SPEEDUP = 50.0
# The input check's share of the time before fitting (8 s of 49 s on a 60 s clip); the progress reached
# when the self-evaluation ends (packaging the model makes it 1).
CHECK_SHARE = 0.15
EVALUATED_AT = 0.99


def estimate_seconds(frames: int, epochs: int | None, device: str = "cpu") -> float:
    """Rough wall time of a training run on an otherwise idle machine."""
    return preparing_seconds(frames) + fitting_seconds(frames, epochs, device)


def preparing_seconds(frames: int) -> float:
    """The input check, tracking, cropping and Whisper over a video of `frames`."""
    return frames / CPU_FRAMES_PER_SECOND


def fitting_seconds(frames: int, epochs: int | None, device: str = "cpu") -> float:
    """The fit's part of a training run; without an epoch count, what the default time leaves (within
    MIN_EPOCHS and MAX_EPOCHS)."""
    epoch = training_frame_count(frames) / (CPU_SAMPLES_PER_SECOND * (CUDA_SPEEDUP if device.startswith("cuda") else 1.0))
    if epochs is None:
        return min(max(DEFAULT_TRAIN_SECONDS - preparing_seconds(frames), MIN_EPOCHS * epoch), MAX_EPOCHS * epoch)
    return epochs * epoch


def evaluation_seconds(frames: int) -> float:
    return frames / EVALUATION_FRAMES_PER_SECOND


def progress_plan(frames: int, epochs: int | None, device: str = "cpu") -> tuple[float, float, float]:
    """Where the input check, the preparation and the fit end, as fractions of a training run (the
    self-evaluation then runs to EVALUATED_AT), in proportion to their expected times: a run of many epochs
    is not a quarter done once its clip is prepared, and an ETA read from its pace holds."""
    preparing, fitting = preparing_seconds(frames), fitting_seconds(frames, epochs, device)
    whole = preparing + fitting + evaluation_seconds(frames - training_frame_count(frames))
    prepared = EVALUATED_AT * preparing / whole
    return prepared * CHECK_SHARE, prepared, EVALUATED_AT * (preparing + fitting) / whole


def epochs_within(seconds: float, samples: int, seconds_per_sample: float, max_epochs: int = MAX_EPOCHS) -> int:
    return int(min(max(seconds / max(seconds_per_sample, 1e-6) // max(samples, 1), MIN_EPOCHS), max_epochs))


def seconds_per_sample(run_batch: Callable[[], object], batch_size: int) -> float:
    """The speed here: one batch to warm up, then the fastest of TIMED_BATCHES."""
    seconds = []
    for _ in range(1 + TIMED_BATCHES):
        began = time.monotonic()
        run_batch()
        seconds.append(time.monotonic() - began)
    return min(seconds[1:]) / batch_size


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)


def colour_jitter(batches: list[torch.Tensor], generator: torch.Generator) -> list[torch.Tensor]:
    """The same random gain and offset per sample for input and target: robust to lighting drift."""
    device = batches[0].device
    gain = 1 + (torch.rand(batches[0].shape[0], 3, 1, 1, generator=generator).to(device) - 0.5) * 0.3
    offset = (torch.rand(batches[0].shape[0], 1, 1, 1, generator=generator).to(device) - 0.5) * 0.1
    return [(batch * gain + offset).clamp_(0, 1) for batch in batches]


def gradients(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return image[..., :, 1:] - image[..., :, :-1], image[..., 1:, :] - image[..., :-1, :]


def mouth_loss(predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 of colour and of horizontal/vertical gradients inside the mouth region."""
    area = mask.sum() * predicted.shape[0] * predicted.shape[1]
    loss = ((predicted - target).abs() * mask).sum() / area
    pdx, pdy = gradients(predicted)
    tdx, tdy = gradients(target)
    loss = loss + GRADIENT_WEIGHT * (((pdx - tdx).abs() * mask[..., :, 1:]).sum() + ((pdy - tdy).abs() * mask[..., 1:, :]).sum()) / area
    return loss


def epoch_line(epoch: int, epochs: int, loss: float, seconds: float) -> Message:
    """The job log's line after each epoch."""
    return gettext_noop("epoch {epoch}/{epochs} loss {loss:.4f} ({seconds:.0f}s)", epoch=epoch, epochs=epochs, loss=loss, seconds=seconds)


def fit(data: TrainingData, epochs: int | None, lr: float, batch_size: int, device: str, progress: Progress, seed: int = 0,
        seconds: float = 0.0, max_epochs: int = MAX_EPOCHS) -> tuple[LipNet, list[float]]:
    """Fit `epochs` epochs, or without them as many as fit in `seconds` (at most `max_epochs`) at the speed
    measured here first."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    network = LipNet().to(device, memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(network.parameters(), lr=lr)
    samples = len(data.crops)
    steps_per_epoch = max(1, math.ceil(samples / batch_size))
    mask = data.hard_mask.to(device)
    keep = 1 - mask
    closed = data.closed_mouth.to(device)
    exemplars = data.exemplars.to(device)
    # On a GPU the batches are cut and jittered there: assembling them on the CPU is what limits it.
    crops, nearest = data.crops.to(device), data.nearest.to(device)

    def backward(index: torch.Tensor) -> torch.Tensor:
        # Surroundings from random other frames, as at render time over the looped clip.
        others = torch.randint(0, samples, (len(index),), generator=generator)
        on_device = index.to(device)
        target, context = (batch.contiguous(memory_format=torch.channels_last)
                           for batch in colour_jitter([crops[on_device], crops[others.to(device)]], generator))
        noisy = data.shapes[index.numpy()] + rng.normal(0, SHAPE_NOISE_PX, (len(index), 1, 2)) + rng.normal(0, POINT_NOISE_PX, (len(index), 20, 2))
        shapes = torch.from_numpy(draw(noisy, data.crops.shape[-1])).to(device)
        references = torch.cat([closed.expand(len(index), -1, -1, -1), exemplars[nearest[on_device]]], 1)
        loss = mouth_loss(network(context * keep, references, shapes), target, mask)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    network.train()
    if epochs is None:
        # Timed on batches whose gradients are thrown away.
        began = time.monotonic()
        per_sample = seconds_per_sample(lambda: backward(torch.randperm(samples, generator=generator)[:batch_size]),
                                        min(batch_size, samples))
        epochs = epochs_within(seconds - (time.monotonic() - began), samples, per_sample * EPOCH_TIME_MARGIN, max_epochs)
        progress("train", 0.0, gettext_noop("{epochs} epochs fit in {seconds:.0f} s at {rate:.0f} samples/s",
                                            epochs=epochs, seconds=seconds, rate=1 / per_sample))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.15)
    losses: list[float] = []
    started = time.monotonic()
    for epoch in range(epochs):
        order = torch.randperm(samples, generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            index = order[step * batch_size: (step + 1) * batch_size]
            loss = backward(index).item()
            if not math.isfinite(loss):
                # Every step after this one would be NaN too: the model saved would render nothing usable.
                raise ValueError(gettext_noop("training diverged: the loss stopped being a number at epoch {epoch}, step {step}; "
                                              "train again with a lower lr (this one was {lr:g})", epoch=epoch + 1, step=step + 1, lr=lr))
            optimiser.step()
            scheduler.step()
            total += loss * len(index)
            done = (epoch * steps_per_epoch + step + 1) / (epochs * steps_per_epoch)
            progress("train", done, "")
        losses.append(total / samples)
        elapsed = time.monotonic() - started
        progress("train", (epoch + 1) / epochs, epoch_line(epoch + 1, epochs, losses[-1], elapsed))
    network.eval()
    return network, losses
