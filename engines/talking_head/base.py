"""What every talking-head engine offers, whatever runs underneath."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from engines import media
from engines.messages import gettext_noop
from engines.progress import Progress

if TYPE_CHECKING:
    from engines.face_tracking import FaceAnalyzer


class ModelDamaged(ValueError):
    """A model directory that cannot be loaded (files missing, truncated or unreadable)."""


@dataclass
class TrainParams:
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    device: str = "cpu"  # "cpu" or "cuda:N"
    extra: dict[str, str] = field(default_factory=dict)  # other custom_params, verbatim


@dataclass
class QualityReport:
    """Input check of a training video: errors refuse training, warnings are kept with the model."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class TrainResult:
    model_dir: Path
    metrics: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


@dataclass
class RenderResult:
    video_path: Path
    frames: int
    fps: float
    width: int
    height: int
    duration: float
    timings: dict = field(default_factory=dict)  # seconds per stage
    labelled: bool = False  # the frames carry the "AI generated" label (engines.provenance.Label), in the language asked


def probe_into(video_path: Path, report: QualityReport) -> media.MediaInfo | None:
    """The video's stream facts, or None with the reason added to the report's errors."""
    try:
        return media.probe(video_path)
    except media.MediaError as exc:
        report.errors.append(gettext_noop("the video cannot be read: {reason}", reason=str(exc)))
        return None


def soundtrack_past_picture(info: media.MediaInfo) -> str | None:
    """A warning for a soundtrack that runs on past the picture further than a file may hold past what it
    declares (a screen capture whose picture stopped early): training reads the sound only that far."""
    if not (info.has_video and info.audio_duration > media.longest_accepted(info.duration)):
        return None
    return gettext_noop("the soundtrack runs {seconds:.1f} s past the picture: only the sound under the picture is learned from",
                        seconds=info.audio_duration - info.duration)


class TalkingHeadEngine(Protocol):
    model_type: str
    custom_param_names: tuple[str, ...]  # the custom_params `train` reads (TrainParams.lr, .batch_size, .extra)

    def availability(self) -> tuple[bool, str]:
        """(usable here, reason when not): missing checkout, no CUDA, ..."""

    def check_video(self, video_path: Path, analyzer: FaceAnalyzer | None = None) -> QualityReport:
        """This model type's input rules for a training video (length, faces, audio, size...); `analyzer`
        lends the face models one caller has loaded (a second's work each) to the checks of every model type.

        Errors refuse training with that model type only: the upload's probe job asks every
        model type and stores each verdict, /model_training answers with the chosen one's, and
        `train` checks again before it starts. Rules belong here, never in forms or job code."""

    def train(self, video_path: Path, workdir: Path, params: TrainParams, progress: Progress) -> TrainResult:
        """Train inside `workdir` (a private temp dir); the model dir returned lies inside it."""

    def render(self, model_dir: Path, audio_path: Path, out_path: Path, progress: Progress, device: str = "cpu") -> RenderResult: ...

    def is_model_dir(self, path: Path) -> bool:
        """Whether `path` holds a finished model of this engine (used to discover and validate models)."""
