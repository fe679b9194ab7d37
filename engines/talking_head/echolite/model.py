"""An EchoLite model directory: what is saved, how it is loaded, and how it draws mouths."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
import torch

from engines.messages import gettext_noop
from engines.talking_head.base import ModelDamaged
from engines.talking_head.echolite import alignment, loop_path
from engines.talking_head.echolite.mouth_shape import MouthShapePredictor, draw, flatten
from engines.talking_head.echolite.exemplars import MouthExemplars, warp
from engines.talking_head.echolite.network import LipNet
from engines.talking_head.echolite.prepare import BACKGROUND_FILE, JpegFrames
from engines.talking_head.echolite_manifest import FORMAT_VERSION, MANIFEST, earlier_format, stored_format

WEIGHTS = "weights.pt"
REFERENCE = "closed_mouth.png"
EXEMPLARS = "exemplars.npz"
TRACKS = "tracks.npz"
MOUTH_SHAPE = "mouth_shape.npz"
SHAPE_BLOCK = 1000  # speech windows turned into mouth shapes at a time (40 s of speech)
# Share of the previous frame's mouth kept in the next one: damps frame-to-frame flicker. Measured on
# the two real benchmark clips' tails (one model each; mouth shimmer against the real frames' jitter,
# evaluate.py): 0.25 / 0.1 / 0 give 0.49 / 0.57 / 0.60 and 0.62 / 0.69 / 0.74, the other figures
# within their noise. The nearest real training mouth warped onto the shape instead of the painted
# one shimmers (1.47 and 1.28 without the carry) and is worse on every other figure but detail.
TEMPORAL_CARRY = 0.25
# The painted mouth gets the fine detail (what a Gaussian blur of DETAIL_SIGMA crop pixels removes)
# of the nearest real mouth warped onto its shape, at DETAIL_STRENGTH. Measured on the real
# benchmark clip with one model (H100-fitted, renders on 2 CPU cores), none / half / full: mouth
# detail against the real frames 0.435 / 0.49-0.50 / 0.58, SSIM 0.764 / 0.761-0.762 / 0.754, LMD
# 17.0 / 16.5-17.2 / 16.9 (noise: two computations of the same half-strength mouths differ by 0.6);
# lip opening against the loudness of the TTS voice driving it r 0.29 / 0.27-0.28 / 0.21. Full
# strength shows teeth but follows other voices less: half.
DETAIL_SIGMA = 1.0
DETAIL_STRENGTH = 0.5
# The drawn mouth is this much the painter's and the rest the background frame's own real mouth,
# warped onto the predicted shape. Renders choose frames whose own mouths are already near that
# shape (loop_path), so the warp moves the lips little and keeps the frame's own teeth, lip edges
# and jaw. Measured on the real benchmark clip's tail with one model over the same planned frames
# (bench_echolite.py --parts), painter only / 0.75: mouth SSIM 0.769 / 0.771, LMD 16.7 / 15.9,
# lip-opening r 0.51 / 0.55. In an earlier computation on that model, 0.5 and the warped own mouth
# alone gave SSIM 0.765 / 0.731, LMD 15.7 / 16.4, r 0.68 / 0.64: below 0.75 the lips follow the
# speech more closely but SSIM falls.
PAINTED_SHARE = 0.75
REQUIRED_FILES = (MANIFEST, WEIGHTS, REFERENCE, EXEMPLARS, TRACKS, MOUTH_SHAPE, BACKGROUND_FILE)


def is_model_dir(path: Path) -> bool:
    return all((path / name).is_file() for name in REQUIRED_FILES) and stored_format(path) == FORMAT_VERSION


@dataclass
class Background:
    """The frames renders play, with what choosing among them needs."""

    transforms: np.ndarray  # (N, 2, 3) frame -> crop
    mouths: np.ndarray  # (N, 20, 2) each frame's own crop-space mouth
    motion: np.ndarray  # (N,) loop_path.head_motion

    def save(self, path: Path) -> None:
        np.savez_compressed(path, transforms=self.transforms, mouths=self.mouths, motion=self.motion)

    @classmethod
    def load(cls, path: Path) -> "Background":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["transforms"], data["mouths"], data["motion"])


def save(model_dir: Path, network: LipNet, shape: MouthShapePredictor, exemplars: MouthExemplars, config: dict,
         closed_mouth: np.ndarray, background: Background) -> None:
    torch.save(network.state_dict(), model_dir / WEIGHTS)
    shape.save(model_dir / MOUTH_SHAPE)
    exemplars.save(model_dir / EXEMPLARS)
    cv2.imwrite(str(model_dir / REFERENCE), cv2.cvtColor(closed_mouth, cv2.COLOR_RGB2BGR))
    background.save(model_dir / TRACKS)
    (model_dir / MANIFEST).write_text(json.dumps({"format": FORMAT_VERSION, **config}, indent=2))


def normalise(windows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(N, STATE_SIZE, CONTEXT) speech windows scaled per state channel, float32."""
    return ((windows.astype(np.float32) - mean[None, :, None]) / std[None, :, None]).astype(np.float32)


@dataclass
class MouthModel:
    """A loaded model: plans which background frames a render shows, predicts crop-space mouths and blends them into frames."""

    network: LipNet
    shape: MouthShapePredictor
    exemplars: MouthExemplars
    config: dict
    template: alignment.Template
    closed_mouth: torch.Tensor  # (3, CROP, CROP)
    exemplar_crops: torch.Tensor  # (K, 3, CROP, CROP)
    background: Background
    frames: JpegFrames
    hard_mask: np.ndarray
    soft_mask: np.ndarray
    band: np.ndarray
    audio_mean: np.ndarray
    audio_std: np.ndarray
    device: str
    painted_share: float = PAINTED_SHARE

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "MouthModel":
        outdated = earlier_format(model_dir)
        if outdated is not None:
            raise ModelDamaged(outdated)
        if not is_model_dir(model_dir):
            missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
            raise ModelDamaged(gettext_noop("EchoLite model {name} is damaged or incomplete ({files} missing or unreadable): train it again",
                                            name=model_dir.name, files=", ".join(missing) or MANIFEST))
        try:
            config = json.loads((model_dir / MANIFEST).read_text())
            network = LipNet()
            network.load_state_dict(torch.load(model_dir / WEIGHTS, map_location=device, weights_only=True))
            closed_mouth = cv2.cvtColor(cv2.imread(str(model_dir / REFERENCE)), cv2.COLOR_BGR2RGB)
            background = Background.load(model_dir / TRACKS)
            frames = JpegFrames.load(model_dir / BACKGROUND_FILE)
            if len(frames) != len(background.transforms):
                raise ValueError(f"{len(frames)} background frames for {len(background.transforms)} tracked ones")
            shape = MouthShapePredictor.load(model_dir / MOUTH_SHAPE)
            exemplars = MouthExemplars.load(model_dir / EXEMPLARS)
        except Exception as exc:  # truncated or corrupted files: say which model, not torch's internals only
            raise ModelDamaged(gettext_noop("EchoLite model {name} is damaged (its files cannot be read: {reason}): train it again",
                                            name=model_dir.name, reason=str(exc))) from exc
        template = alignment.Template.from_dict(config["template"])
        hard, soft = template.mouth_mask()
        # Where the blend fades out, inside the painted region (the network is only trained there):
        # colour is matched to the frame on this ring.
        band = np.clip(hard - cv2.erode(hard, np.ones((9, 9), np.uint8)), 0, 1)
        closed = torch.from_numpy(closed_mouth).permute(2, 0, 1).float().div(255.0).to(device)
        crops = torch.from_numpy(exemplars.crops).permute(0, 3, 1, 2).float().div(255.0).to(device)
        # Channels-last convolutions run about a quarter faster on CPUs (oneDNN), with the same results to float rounding.
        network = network.to(device, memory_format=torch.channels_last).eval()
        return cls(network, shape, exemplars, config, template, closed, crops, background, frames, hard, soft, band,
                   np.array(config["audio_mean"], np.float32), np.array(config["audio_std"], np.float32), device)

    def normalise(self, windows: np.ndarray) -> np.ndarray:
        return normalise(windows, self.audio_mean, self.audio_std)

    def mouth_shapes(self, windows: np.ndarray) -> np.ndarray:
        """(N, 20, 2) crop-space mouths the speech windows ask for. The windows are read a block at a
        time: normalised all at once, ten minutes of speech took 1.4 GB more."""
        flat = [self.shape.predict_flat(flatten(self.normalise(windows[first: first + SHAPE_BLOCK])))
                for first in range(0, len(windows), SHAPE_BLOCK)]
        return self.shape.smoothed(np.concatenate(flat) if flat else np.zeros((0, 40), np.float32))

    def plan(self, shapes: np.ndarray) -> np.ndarray:
        """Which background frame shows each of `shapes` (see loop_path)."""
        return loop_path.plan(self.background.mouths, self.background.motion, shapes)

    def backgrounds(self, indices: np.ndarray) -> Iterator[np.ndarray]:
        """The background frames at `indices`, decoded ahead of use."""
        return self.frames.decoded(indices)

    @torch.inference_mode()
    def predict(self, crops: np.ndarray, own_mouths: np.ndarray, shapes: np.ndarray) -> np.ndarray:
        """Mouths for (B, CROP, CROP, 3) background crops, whose own mouths are `own_mouths`, drawn in `shapes`."""
        target = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0).to(self.device)
        keep = torch.from_numpy(1 - self.hard_mask).to(self.device)
        drawn = torch.from_numpy(draw(shapes, crops.shape[1])).to(self.device)
        nearest = self.exemplars.nearest(shapes)
        exemplars = self.exemplar_crops[torch.from_numpy(nearest).to(self.device)]
        references = torch.cat([self.closed_mouth.expand(len(crops), -1, -1, -1), exemplars], 1)
        channels_last = torch.channels_last
        output = self.network((target * keep).contiguous(memory_format=channels_last), references.contiguous(memory_format=channels_last),
                              drawn.contiguous(memory_format=channels_last))
        painted = output.permute(0, 2, 3, 1).clamp(0, 1).mul(255).cpu().numpy()
        real = self.exemplars.warped(nearest, shapes).astype(np.float32)
        detail = DETAIL_STRENGTH * (real - np.stack([cv2.GaussianBlur(mouth, (0, 0), DETAIL_SIGMA) for mouth in real]))
        own = warp(crops, own_mouths, shapes).astype(np.float32)
        return np.clip(self.painted_share * (painted + detail) + (1 - self.painted_share) * own, 0, 255).round().astype(np.uint8)

    def compose(self, frames: list[np.ndarray], transforms: np.ndarray, own_mouths: np.ndarray, shapes: np.ndarray,
                previous: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
        """Draw `shapes` into `frames` (in place), whose crop transforms and own crop-space mouths are given;
        returns them and the last mouth drawn."""
        crops = np.stack([alignment.crop(frame, matrix) for frame, matrix in zip(frames, transforms)])
        mouths = self.predict(crops, own_mouths, shapes)
        for frame, matrix, crop, mouth in zip(frames, transforms, crops, mouths):
            mouth = alignment.match_colour(mouth, crop, self.band)
            if previous is not None:
                mouth = cv2.addWeighted(mouth, 1 - TEMPORAL_CARRY, previous, TEMPORAL_CARRY, 0)
            alignment.paste(frame, mouth, matrix, self.soft_mask)
            previous = mouth
        return frames, previous

    def draw(self, frames: list[np.ndarray], indices: np.ndarray, shapes: np.ndarray, previous: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
        """`compose` over background frames `indices`."""
        return self.compose(frames, self.background.transforms[indices], self.background.mouths[indices], shapes, previous)

    def drawn(self, indices: np.ndarray, shapes: np.ndarray, batch: int = 16, done: Callable[[float], None] | None = None) -> list[np.ndarray]:
        """The background frames `indices` with `shapes` drawn in, all in memory (short clips: the
        self-evaluation, benchmarks); `done` hears the share drawn after each batch."""
        frames, previous = list(self.backgrounds(indices)), None
        for first in range(0, len(frames), batch):
            part = slice(first, first + batch)
            frames[part], previous = self.draw(frames[part], indices[part], shapes[part], previous)
            if done is not None:
                done(min(first + batch, len(frames)) / len(frames))
        return frames
