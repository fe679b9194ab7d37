"""An EchoLite model directory: what is saved, how it is loaded, and how it draws mouths."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
import torch

from engines import media
from engines.talking_head.base import ModelDamaged
from engines.talking_head.echolite import alignment
from engines.talking_head.echolite.mouth_shape import MouthShapePredictor, draw
from engines.talking_head.echolite.exemplars import MouthExemplars
from engines.talking_head.echolite.network import LipNet
from engines.talking_head.echolite.prepare import BACKGROUND_FILE, BACKGROUND_REVERSED_FILE

MANIFEST = "echolite.json"
WEIGHTS = "weights.pt"
REFERENCE = "closed_mouth.png"
EXEMPLARS = "exemplars.npz"
TRACKS = "tracks.npz"
MOUTH_SHAPE = "mouth_shape.npz"
FORMAT_VERSION = 3
# Share of the previous frame's mouth kept in the next one: damps frame-to-frame flicker.
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
REQUIRED_FILES = (MANIFEST, WEIGHTS, REFERENCE, EXEMPLARS, TRACKS, MOUTH_SHAPE, BACKGROUND_FILE, BACKGROUND_REVERSED_FILE)


def is_model_dir(path: Path) -> bool:
    if not all((path / name).is_file() for name in REQUIRED_FILES):
        return False
    try:
        return json.loads((path / MANIFEST).read_text()).get("format") == FORMAT_VERSION
    except (OSError, ValueError):
        return False


def save(model_dir: Path, network: LipNet, shape: MouthShapePredictor, exemplars: MouthExemplars, config: dict,
         closed_mouth: np.ndarray, transforms: np.ndarray) -> None:
    torch.save(network.state_dict(), model_dir / WEIGHTS)
    shape.save(model_dir / MOUTH_SHAPE)
    exemplars.save(model_dir / EXEMPLARS)
    cv2.imwrite(str(model_dir / REFERENCE), cv2.cvtColor(closed_mouth, cv2.COLOR_RGB2BGR))
    np.savez_compressed(model_dir / TRACKS, transforms=transforms)
    (model_dir / MANIFEST).write_text(json.dumps({"format": FORMAT_VERSION, **config}, indent=2))


def normalise(windows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(N, STATE_SIZE, CONTEXT) speech windows scaled per state channel, float32."""
    return ((windows.astype(np.float32) - mean[None, :, None]) / std[None, :, None]).astype(np.float32)


@dataclass
class MouthModel:
    """A loaded model: predicts crop-space mouths and blends them into frames."""

    network: LipNet
    shape: MouthShapePredictor
    exemplars: MouthExemplars
    config: dict
    template: alignment.Template
    closed_mouth: torch.Tensor  # (3, CROP, CROP)
    exemplar_crops: torch.Tensor  # (K, 3, CROP, CROP)
    transforms: np.ndarray
    hard_mask: np.ndarray
    soft_mask: np.ndarray
    band: np.ndarray
    audio_mean: np.ndarray
    audio_std: np.ndarray
    device: str
    model_dir: Path | None = None

    @classmethod
    def build(cls, network: LipNet, shape: MouthShapePredictor, exemplars: MouthExemplars, config: dict, closed_mouth: np.ndarray,
              transforms: np.ndarray, device: str, model_dir: Path | None = None) -> "MouthModel":
        template = alignment.Template.from_dict(config["template"])
        hard, soft = template.mouth_mask()
        # Where the blend fades out, inside the painted region (the network is only trained there):
        # colour is matched to the frame on this ring.
        band = np.clip(hard - cv2.erode(hard, np.ones((9, 9), np.uint8)), 0, 1)
        closed = torch.from_numpy(closed_mouth).permute(2, 0, 1).float().div(255.0).to(device)
        crops = torch.from_numpy(exemplars.crops).permute(0, 3, 1, 2).float().div(255.0).to(device)
        # Channels-last convolutions run about a quarter faster on CPUs (oneDNN), with the same results to float rounding.
        network = network.to(device, memory_format=torch.channels_last).eval()
        return cls(network, shape, exemplars, config, template, closed, crops, transforms, hard, soft, band,
                   np.array(config["audio_mean"], np.float32), np.array(config["audio_std"], np.float32), device, model_dir)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "MouthModel":
        if not is_model_dir(model_dir):
            missing = [name for name in REQUIRED_FILES if not (model_dir / name).is_file()]
            raise ModelDamaged(f"EchoLite model {model_dir.name} is damaged or incomplete ({', '.join(missing) or MANIFEST} "
                               f"missing or unreadable): train it again")
        try:
            config = json.loads((model_dir / MANIFEST).read_text())
            network = LipNet()
            network.load_state_dict(torch.load(model_dir / WEIGHTS, map_location=device, weights_only=True))
            closed_mouth = cv2.cvtColor(cv2.imread(str(model_dir / REFERENCE)), cv2.COLOR_BGR2RGB)
            transforms = np.load(model_dir / TRACKS)["transforms"]
            shape = MouthShapePredictor.load(model_dir / MOUTH_SHAPE)
            exemplars = MouthExemplars.load(model_dir / EXEMPLARS)
            return cls.build(network, shape, exemplars, config, closed_mouth, transforms, device, model_dir)
        except Exception as exc:  # truncated or corrupted files: say which model, not torch's internals only
            raise ModelDamaged(f"EchoLite model {model_dir.name} is damaged (its files cannot be read: {exc}): train it again") from exc

    def normalise(self, windows: np.ndarray) -> np.ndarray:
        return normalise(windows, self.audio_mean, self.audio_std)

    @torch.inference_mode()
    def predict(self, crops: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """Mouths for (B, CROP, CROP, 3) background crops and their speech windows."""
        target = torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0).to(self.device)
        keep = torch.from_numpy(1 - self.hard_mask).to(self.device)
        predicted = self.shape.predict(self.normalise(windows))
        shapes = torch.from_numpy(draw(predicted, crops.shape[1])).to(self.device)
        nearest = self.exemplars.nearest(predicted)
        exemplars = self.exemplar_crops[torch.from_numpy(nearest).to(self.device)]
        references = torch.cat([self.closed_mouth.expand(len(crops), -1, -1, -1), exemplars], 1)
        channels_last = torch.channels_last
        output = self.network((target * keep).contiguous(memory_format=channels_last), references.contiguous(memory_format=channels_last),
                              shapes.contiguous(memory_format=channels_last))
        painted = output.permute(0, 2, 3, 1).clamp(0, 1).mul(255).cpu().numpy()
        real = self.exemplars.warped(nearest, predicted).astype(np.float32)
        detail = DETAIL_STRENGTH * (real - np.stack([cv2.GaussianBlur(mouth, (0, 0), DETAIL_SIGMA) for mouth in real]))
        return np.clip(painted + detail, 0, 255).round().astype(np.uint8)

    def compose(self, frames: list[np.ndarray], transforms: np.ndarray, windows: np.ndarray, previous: np.ndarray | None) -> tuple[list[np.ndarray], np.ndarray]:
        """Draw the predicted mouths into `frames` (in place); returns them and the last mouth drawn."""
        crops = np.stack([alignment.crop(frame, matrix) for frame, matrix in zip(frames, transforms)])
        mouths = self.predict(crops, windows)
        for frame, matrix, crop, mouth in zip(frames, transforms, crops, mouths):
            mouth = alignment.match_colour(mouth, crop, self.band)
            if previous is not None:
                mouth = cv2.addWeighted(mouth, 1 - TEMPORAL_CARRY, previous, TEMPORAL_CARRY, 0)
            alignment.paste(frame, mouth, matrix, self.soft_mask)
            previous = mouth
        return frames, previous

    def backgrounds(self, count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """`count` (frame, frame->crop matrix) pairs, looping the training clip forwards then backwards."""
        total = len(self.transforms)
        produced, forward, first_pass = 0, True, True
        while produced < count:
            name = BACKGROUND_FILE if forward else BACKGROUND_REVERSED_FILE
            for position, frame in enumerate(media.iter_video_frames(self.model_dir / name)):
                if position >= total:
                    break
                if position == 0 and not first_pass:
                    continue  # the turning frame was just shown
                index = position if forward else total - 1 - position
                yield frame, self.transforms[index]
                produced += 1
                if produced >= count:
                    return
            forward, first_pass = not forward, False
            if total == 1:
                first_pass = True
