"""ER-NeRF (github.com/Fictionarry/ER-NeRF, ICCV 2023) driven through its own command lines.

Training follows its README and scripts/train_obama.sh, run in the checkout:
  python data_utils/process.py data/<ID>/<ID>.mp4 --task N        (one task at a time)
  python data_utils/deepspeech_features/extract_ds_features.py --input data/<ID>/aud.wav --output .../aud_ds.npy
      (or: python data_utils/hubert.py --wav data/<ID>/aud.wav  ->  aud_hu.npy)
  python main.py data/<ID> --workspace trial_<ID> -O --iters 100000 --asr_model deepspeech
  python main.py data/<ID> --workspace trial_<ID> -O --iters 125000 --finetune_lips --patch_size 32 ...
  python main.py data/<ID> --workspace trial_<ID>_torso -O --torso --head_ckpt <latest head ckpt> --iters 200000 ...
Inference ("Inference with target audio"):
  python main.py <data> --workspace <ws> -O --torso --test --test_train --aud <audio>.npy --ckpt <ckpt>
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from engines import media
from engines.face_tracking import FaceAnalyzer, eye_openness, face_stats, packed
from engines.messages import Message, gettext_noop
from engines.progress import Progress, no_progress, scaled
from engines.talking_head.base import QualityReport, RenderResult, TrainParams, TrainResult, soundtrack_past_picture
from engines.talking_head import external
from engines.talking_head.external import AUDIO_RATE, FPS, Checkout, ExternalCommandFailed, ExternalUnavailable

MIN_SECONDS = 3.0
RECOMMENDED_SECONDS = 60.0  # README: "duration about 1-5 min"
MANIFEST_FORMAT = 1
# data_utils/process.py extract_landmarks stops at the first frame where face_alignment finds no
# face, so such frames are cut before the project sees the video; more than this share is refused.
MAX_FACELESS_SHARE = 0.5
MAX_MULTI_FACE_SHARE = 0.5
FACE_CHECK_SIDE = 320  # frames are searched for a face at most this large (a training face is big)
# main.py: eval_interval = max(1, int(5000 / len(train_loader))) epochs between evaluations.
EVAL_FRAMES = 5000
SHOWN_MISSING = 5  # files an incomplete model's refusal names; the rest are counted


@dataclass
class TrainingProbe:
    """What is known about a training video before any work: its streams and its faces."""

    info: media.MediaInfo | None
    faces: dict = field(default_factory=dict)  # engines.face_tracking.face_stats() of sampled frames
    unreadable: str = ""


def probe_training_input(video_path: Path, analyzer: FaceAnalyzer | None = None) -> TrainingProbe:
    try:
        info = media.probe(video_path)
    except media.MediaError as exc:
        return TrainingProbe(None, unreadable=str(exc))
    if not info.has_video:
        return TrainingProbe(info)
    return TrainingProbe(info, face_stats(video_path, analyzer=analyzer))


def check_training_input(probe: TrainingProbe, model_type: str = "ER-NeRF") -> list[str]:
    """Why ER-NeRF / SyncTalk would fail on this video after hours of work; empty when they would not.

    What the adapter can adapt (frame rate, size, --ind_num, a few frames without a face) is
    not a problem here; see `training_adaptations`.
    """
    if probe.info is None:
        return [gettext_noop("the video cannot be read: {reason}", reason=probe.unreadable)]
    info, problems = probe.info, []
    if not info.has_video:
        problems.append(gettext_noop("the file has no video stream"))
    if not info.has_audio:
        problems.append(gettext_noop("the file has no audio track: {model_type} learns the lip motion from the speech", model_type=model_type))
    if info.duration < MIN_SECONDS:
        problems.append(gettext_noop("the video is {seconds:.1f} s long; at least {minimum:.0f} s are needed", seconds=info.duration, minimum=MIN_SECONDS))
    faces = probe.faces
    if faces:
        faceless = faces["no_face_share"]
        if faceless > MAX_FACELESS_SHARE:
            problems.append(gettext_noop("no face is found in {share:.0%} of the sampled frames: {model_type}'s landmark step needs a face "
                                         "in every frame, and cutting that many frames leaves too little to learn from",
                                         share=faceless, model_type=model_type))
        elif faceless > 0 and info.duration >= MIN_SECONDS > info.duration * (1 - faceless):
            problems.append(gettext_noop("only about {seconds:.1f} s show a face; at least {minimum:.0f} s are needed",
                                         seconds=info.duration * (1 - faceless), minimum=MIN_SECONDS))
        if faces["multi_face_share"] > MAX_MULTI_FACE_SHARE:
            problems.append(gettext_noop("two or more faces are in {share:.0%} of the sampled frames: "
                                         "{model_type} learns one person and would follow whichever face it finds first",
                                         share=faces["multi_face_share"], model_type=model_type))
    return problems


def training_adaptations(probe: TrainingProbe, model_type: str, default_ind_num: int) -> list[str]:
    """What the adapter will change so the project accepts the video (kept as the model's warnings)."""
    info, notes = probe.info, []
    if info is None or not info.has_video:
        return notes
    if info.duration < RECOMMENDED_SECONDS:
        notes.append(gettext_noop("the video is {seconds:.0f} s long; {model_type} is meant to learn from 1-5 minutes", seconds=info.duration, model_type=model_type))
    if abs(info.fps - FPS) > 0.01:
        notes.append(gettext_noop("{fps:.2f} fps will be converted to the {target} fps {model_type} expects", fps=info.fps, target=FPS, model_type=model_type))
    size = external.training_size(info.width, info.height)
    if size != (info.width, info.height):
        notes.append(gettext_noop("{width}x{height} will be scaled to {new_width}x{new_height}", width=info.width, height=info.height,
                                  new_width=size[0], new_height=size[1]))
    if abs(size[0] - size[1]) > 0.1 * max(size):
        notes.append(gettext_noop("{model_type} expects a square crop of about 512x512 around head and shoulders", model_type=model_type))
    if probe.faces.get("no_face_share", 0) > 0:
        notes.append(gettext_noop("no face in about {share:.0%} of the sampled frames: frames without a face are cut, with their audio, "
                                  "before preprocessing", share=probe.faces["no_face_share"]))
    if past := soundtrack_past_picture(info):
        notes.append(past)
    if info.duration * FPS >= default_ind_num:
        notes.append(gettext_noop("{frames:.0f} frames exceed {model_type}'s default --ind_num {default}; it is raised to fit",
                                  frames=info.duration * FPS, model_type=model_type, default=default_ind_num))
    return notes


def ind_num_for(train_frames: int, default: int) -> int:
    """main.py asserts len(train_loader) < --ind_num (one learned code per training frame)."""
    return max(default, train_frames + 1)


class FaceFilter:
    """Whether a frame shows a face: dlib's HOG detector at about FACE_CHECK_SIDE pixels.

    face_alignment's detector (SFD) finds faces HOG misses, hardly ever the reverse, so a frame
    kept here is one the project's landmark step handles.
    """

    def __init__(self) -> None:
        import dlib

        self.detector = dlib.get_frontal_face_detector()

    def __call__(self, rgb: np.ndarray) -> bool:
        scale = min(1.0, FACE_CHECK_SIDE / max(rgb.shape[:2]))
        small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else packed(rgb)
        # HOG's window is 80 px: smaller frames are searched at twice the size.
        return len(self.detector(small, 1 if max(small.shape[:2]) < FACE_CHECK_SIDE else 0)) > 0

# Shares of the whole training job; the training share is split by iterations.
PREPARE = (0.0, 0.03)
PREPROCESS = (0.03, 0.25)
TRAINING = (0.25, 0.97)
COLLECT = (0.97, 1.0)


@dataclass(frozen=True)
class Step:
    """One preprocessing command and the files (globs in the data dir) it must leave behind.

    process.py runs its helpers with os.system and exits 0 even when they fail, so the
    files are the only trustworthy sign that a step worked.
    """

    name: str
    args: tuple[str, ...]
    weight: float
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class TrainingStage:
    name: str
    workspace: str  # relative to the checkout
    args: tuple[str, ...]
    iters: int
    head_from: str | None = None  # workspace whose latest checkpoint goes to --head_ckpt


def train_split(frames: int) -> int:
    """Frames data_utils/process.py (save_transforms) puts in transforms_train.json: the first 10/11."""
    return int(frames * 10 / 11)


def iterations_run(stages: list[TrainingStage], train_frames: int) -> list[int]:
    """The iterations main.py runs in each stage: whole epochs up to ceil(--iters / frames), from the
    epoch of the latest checkpoint in its workspace, so the lips finetune (the head's workspace)
    goes on from where the head stopped, and the torso (a workspace of its own) starts from none."""
    reached: dict[str, int] = {}
    runs = []
    for stage in stages:
        last_epoch = math.ceil(stage.iters / train_frames)
        first_epoch = reached.get(stage.workspace, 0)
        runs.append(max(0, last_epoch - first_epoch) * train_frames)
        reached[stage.workspace] = max(first_epoch, last_epoch)
    return runs


class ErNerfEngine:
    model_type = "ER-NeRF"
    custom_param_names = ("lr", "iters", "lips_iters", "torso_iters", "torso")  # main.py has no batch size to set
    setting_prefix = "ECHOFU_ERNERF"  # ECHOFU_ERNERF_DIR, _PYTHON, _DOCKER_IMAGE
    manifest_name = "ernerf.json"
    asr_models = ("deepspeech", "hubert")
    default_audio_features = "deepspeech"
    required_files = ("main.py", "data_utils/process.py")
    workspace_root = ""  # README: --workspace trial_obama/
    # README "Train": head to 100k iterations, lips finetune to 125k, torso 200k.
    head_iters = 100_000
    lips_iters = 125_000
    lips_patch_size = 32
    torso_iters = 200_000
    torso_by_default = True
    default_ind_num = 10_000  # main.py --ind_num
    # What `main.py --test --test_train` reads from the data dir (nerf_triplane/provider.py).
    model_files = ("transforms_train.json", "transforms_val.json", "bc.jpg", "au.csv", "track_params.pt",
                   "aud.wav", "aud_*.npy", "gt_imgs/*.jpg", "torso_imgs/*.png", "ori_imgs/*.lms")
    # ... and what it needs of every training frame: the ground truth (a frame without one is
    # skipped), its landmarks and torso image (a missing one crashes the render).
    frame_files = ("gt_imgs/{}.jpg", "ori_imgs/{}.lms", "torso_imgs/{}.png")
    render_files = ("transforms_train.json", "bc.jpg", "au.csv")

    def __init__(self, checkout: Path | None, python: str = "python", docker_image: str | None = None,
                 audio_features: str | None = None, require_cuda: bool = True, env: dict[str, str] | None = None):
        audio_features = audio_features or self.default_audio_features
        if audio_features not in self.asr_models:
            raise ValueError(f"{self.model_type} audio features must be one of {', '.join(self.asr_models)}, not {audio_features!r}")
        self.checkout = Checkout(Path(checkout).resolve(), python, docker_image or None, dict(env or {})) if checkout else None
        self.asr_model = audio_features
        self.require_cuda = require_cuda

    # ---- what the API asks before starting anything ----

    def availability(self) -> tuple[bool, str]:
        try:
            checkout = self._ready_checkout()
        except ExternalUnavailable as exc:
            return False, exc.args[0]  # its Message, for the web layer to translate
        revision = external.git_revision(checkout.path)
        details = [f"checkout at {checkout.path}"] + ([f"revision {revision[:10]}"] if revision else [])
        details += [f"audio features {self.asr_model}", "CUDA available" if self.require_cuda else "CUDA not checked"]
        return True, f"{self.model_type}: " + ", ".join(details)

    def _ready_checkout(self, device: str = "cuda") -> Checkout:
        checkout = self.checkout
        if checkout is None:
            raise ExternalUnavailable(gettext_noop("{model_type} checkout is not configured (set {setting})",
                                                   model_type=self.model_type, setting=f"{self.setting_prefix}_DIR"))
        if not checkout.path.is_dir():
            raise ExternalUnavailable(gettext_noop("{model_type} checkout not found at {path} (set {setting})",
                                                   model_type=self.model_type, path=str(checkout.path), setting=f"{self.setting_prefix}_DIR"))
        for name in self.required_files + self.extra_required_files():
            if not (checkout.path / name).is_file():
                raise ExternalUnavailable(gettext_noop("{model_type} checkout at {path} is incomplete: {name} missing",
                                                       model_type=self.model_type, path=str(checkout.path), name=name))
        if checkout.docker_image and shutil.which("docker") is None:
            raise ExternalUnavailable(gettext_noop("{model_type}: docker not found, needed for {setting}={image}", model_type=self.model_type,
                                                   setting=f"{self.setting_prefix}_DOCKER_IMAGE", image=checkout.docker_image))
        if not checkout.docker_image and shutil.which(checkout.python) is None:
            raise ExternalUnavailable(gettext_noop("{model_type}: python interpreter {python!r} not found (set {setting})",
                                                   model_type=self.model_type, python=checkout.python, setting=f"{self.setting_prefix}_PYTHON"))
        if self.require_cuda and (problem := external.cuda_problem(checkout, device)):
            raise ExternalUnavailable(Message("{model_type}: {problem}", model_type=self.model_type, problem=problem))
        return checkout

    def extra_required_files(self) -> tuple[str, ...]:
        return ()

    def check_video(self, video_path: Path, analyzer: FaceAnalyzer | None = None) -> QualityReport:
        probe = probe_training_input(Path(video_path), analyzer)
        report = QualityReport(errors=check_training_input(probe, self.model_type))
        if probe.info is not None:
            report.stats = {**probe.info.as_dict(), **probe.faces}
        if report.ok:
            report.warnings = training_adaptations(probe, self.model_type, self.default_ind_num)
        return report

    def is_model_dir(self, path: Path) -> bool:
        try:
            self._manifest(Path(path))
        except ValueError:
            return False
        return True

    def _manifest(self, model_dir: Path) -> dict:
        try:
            manifest = json.loads((model_dir / self.manifest_name).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(gettext_noop("{model_dir} is not a {model_type} model: no readable {manifest}",
                                          model_dir=str(model_dir), model_type=self.model_type, manifest=self.manifest_name)) from exc
        if manifest.get("model_type") != self.model_type or not (model_dir / str(manifest.get("checkpoint"))).is_file():
            raise ValueError(gettext_noop("{model_dir} is not a complete {model_type} model", model_dir=str(model_dir), model_type=self.model_type))
        return manifest

    # ---- the project's command lines ----

    def preprocess_steps(self, video: str, data: str) -> list[Step]:
        """data_utils/process.py tasks; task 2 (audio features) is run directly to name its output."""
        task = self.process_task(video)
        features = self.feature_command(f"{data}/aud.wav", self.asr_model)
        return [
            task(1, gettext_noop("extract audio"), 1, "aud.wav"),
            Step(gettext_noop("audio features"), tuple(features[0]), 5, (Path(features[1]).name,)),
            task(3, gettext_noop("extract images"), 3, "ori_imgs/*.jpg"),
            task(4, gettext_noop("face parsing"), 12, "parsing/*.png"),
            task(5, gettext_noop("background"), 4, "bc.jpg"),
            task(6, gettext_noop("torso and ground-truth images"), 12, "gt_imgs/*.jpg", "torso_imgs/*.png"),
            task(7, gettext_noop("face landmarks"), 15, "ori_imgs/*.lms"),
            task(8, gettext_noop("face tracking"), 45, "track_params.pt"),
            task(9, gettext_noop("transforms"), 1, "transforms_train.json", "transforms_val.json"),
        ]

    def process_task(self, video: str) -> Callable[..., Step]:
        """A maker of `data_utils/process.py <video> --task N` steps."""
        def task(number: int, name: str, weight: float, *outputs: str) -> Step:
            return Step(name, ("data_utils/process.py", video, *self.process_options(), "--task", str(number)), weight, outputs)

        return task

    def process_options(self) -> tuple[str, ...]:
        return ()

    @staticmethod
    def feature_command(wav: str, asr_model: str) -> tuple[list[str], str] | None:
        """(args, output) extracting `asr_model` features of a 16 kHz wav; None when main.py reads the wav itself."""
        stem = wav[: -len(".wav")]
        if asr_model == "deepspeech":
            # ER-NeRF's script names its output <stem>.npy, SyncTalk's <stem>_ds.npy; provider.py loads aud_ds.npy.
            output = f"{stem}_ds.npy"
            return ["data_utils/deepspeech_features/extract_ds_features.py", "--input", wav, "--output", output], output
        if asr_model == "hubert":
            return ["data_utils/hubert.py", "--wav", wav], f"{stem}_hu.npy"  # hubert.py: wav.replace('.wav', '_hu.npy')
        return None

    def finish_preprocessing(self, data_dir: Path) -> list[str]:
        """ER-NeRF reads AU45 blinks from au.csv (OpenFace, not in the repo): derive it from the landmarks."""
        write_blink_csv(data_dir)
        return [gettext_noop("au.csv (eye blinks) was derived from the face landmarks, not from OpenFace")]

    def training_stages(self, params: TrainParams, run_id: str, train_frames: int) -> list[TrainingStage]:
        head = _int_param(params, "iters") or (params.epochs * train_frames if params.epochs else self.head_iters)
        lips = _int_param(params, "lips_iters") or round(head * self.lips_iters / self.head_iters)
        torso = _int_param(params, "torso_iters") or round(head * self.torso_iters / self.head_iters)
        ind_num = ind_num_for(train_frames, self.default_ind_num)
        common = ("-O", "--asr_model", self.asr_model, "--ind_num", str(ind_num)) + (("--lr", str(params.lr)) if params.lr else ())
        workspace = f"{self.workspace_root}trial_{run_id}"
        stages = [
            TrainingStage("train_head", workspace, common, head),
            TrainingStage("train_lips", workspace, common + ("--finetune_lips", "--patch_size", str(self.lips_patch_size)), lips),
        ]
        if _flag_param(params, "torso", self.torso_by_default):
            stages.append(TrainingStage("train_torso", f"{workspace}_torso", common + ("--torso",), torso, head_from=workspace))
        return stages

    def planned_iterations(self, params: TrainParams, frames: int) -> int:
        """Iterations main.py runs in all the training stages for a video of about `frames` frames: what a
        training's time grows with, for its estimate (its preprocessing is about the same for any video)."""
        train_frames = max(1, train_split(frames))
        return sum(iterations_run(self.training_stages(params, "planned", train_frames), train_frames))

    def inference_flags(self, manifest: dict) -> list[str]:
        return ["--torso"] if manifest.get("torso") else []

    # ---- training ----

    def train(self, video_path: Path, workdir: Path, params: TrainParams, progress: Progress = no_progress) -> TrainResult:
        started = time.monotonic()
        progress = external.monotone(progress)
        progress("check", 0.0, gettext_noop("checking the {model_type} checkout and the video", model_type=self.model_type))
        checkout = self._ready_checkout(params.device)
        report = self.check_video(Path(video_path))
        if not report.ok:
            raise ValueError(gettext_noop("the video cannot be used for training: {reasons}", reasons=report.errors))
        warnings = list(report.warnings)
        if external.cuda_index(params.device) is None:
            warnings.append(gettext_noop("{model_type} runs on CUDA only; device '{device}' names no GPU, the checkout's default is used",
                                         model_type=self.model_type, device=params.device))

        run_id = f"echofu_{time.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:6]}"
        data = f"data/{run_id}"
        data_dir = checkout.path / data
        workdir = Path(workdir)
        partial, model_dir = workdir / "model.partial", workdir / "model"
        # Planned now so that bad custom parameters fail before hours of preprocessing; re-planned
        # below with the real size of the training split.
        stages = self.training_stages(params, run_id, train_frames=1)
        workspaces = {stage.workspace for stage in stages}
        seconds: dict[str, float] = {}
        try:
            data_dir.mkdir(parents=True)
            clock = time.monotonic()
            frames, cut = external.convert_video(Path(video_path), data_dir / f"{run_id}.mp4", "prepare",
                                                 scaled(progress, *PREPARE), keep=FaceFilter())
            if frames < MIN_SECONDS * FPS:
                raise ValueError(gettext_noop("the video cannot be used for training: only {frames} of {total} frames show a face, "
                                              "at least {least:.0f} are needed", frames=frames, total=frames + cut, least=MIN_SECONDS * FPS))
            if cut:
                warnings.append(gettext_noop("{cut} of {frames} frames show no face and were cut with their audio "
                                             "({model_type}'s landmark step needs a face in every frame)",
                                             cut=cut, frames=frames + cut, model_type=self.model_type))
            seconds["prepare"] = time.monotonic() - clock

            clock = time.monotonic()
            self._preprocess(checkout, f"{data}/{run_id}.mp4", data, params.device, scaled(progress, *PREPROCESS))
            warnings += self.finish_preprocessing(data_dir)
            seconds["preprocess"] = time.monotonic() - clock

            train_frames = len(json.loads((data_dir / "transforms_train.json").read_text())["frames"])
            stages = self.training_stages(params, run_id, train_frames)
            metrics = self._train_stages(checkout, data, stages, train_frames, params.device, progress, seconds)
            eval_interval = max(1, EVAL_FRAMES // train_frames)
            if not any("psnr" in stage for stage in metrics.values()):
                warnings.append(gettext_noop("main.py evaluates every {epochs} epochs on {frames} training frames and no stage "
                                             "ran that long: no PSNR was measured and the last epoch's checkpoint is used",
                                             epochs=eval_interval, frames=train_frames))

            progress("collect", COLLECT[0], gettext_noop("collecting the model into {model_dir}", model_dir=str(model_dir)))
            partial.mkdir(parents=True)
            (partial / "checkpoints").mkdir()
            head_workspace = checkout.path / stages[0].workspace
            shutil.copy2(external.final_checkpoint(head_workspace), partial / "checkpoints" / "head.pth")
            torso = stages[-1].name == "train_torso"
            if torso:
                shutil.copy2(external.final_checkpoint(checkout.path / stages[-1].workspace), partial / "checkpoints" / "torso.pth")
            external.move_matching(data_dir, partial, self.model_files)
            manifest = self._trained_manifest(checkout, stages, params, torso, metrics, warnings, frames=frames, cut=cut, train_frames=train_frames)
            (partial / self.manifest_name).write_text(json.dumps(manifest, indent=2))
            partial.rename(model_dir)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            shutil.rmtree(data_dir, ignore_errors=True)
            for workspace in workspaces:
                shutil.rmtree(checkout.path / workspace, ignore_errors=True)
        seconds["total"] = time.monotonic() - started
        metrics = {**metrics, "seconds": {name: round(value, 1) for name, value in seconds.items()}}
        progress("collect", 1.0, gettext_noop("{model_type} model ready: {metrics}", model_type=self.model_type, metrics=str(metrics)))
        return TrainResult(model_dir=model_dir, metrics=metrics, warnings=warnings)

    def _trained_manifest(self, checkout: Checkout, stages: list[TrainingStage], params: TrainParams, torso: bool, metrics: dict,
                          warnings: list, *, frames: int, cut: int, train_frames: int) -> dict:
        """What a trained model records about itself (rendering reads its checkpoint, audio features and
        ind_num from it); `cut`: the frames dropped for showing no face."""
        return {
            "model_type": self.model_type,
            "format": MANIFEST_FORMAT,
            "asr_model": self.asr_model,
            "torso": torso,
            "checkpoint": "checkpoints/torso.pth" if torso else "checkpoints/head.pth",
            "head_checkpoint": "checkpoints/head.pth",
            "iters": {stage.name.removeprefix("train_"): stage.iters for stage in stages},
            "frames": frames,
            "frames_cut": cut,
            "train_frames": train_frames,
            "ind_num": ind_num_for(train_frames, self.default_ind_num),
            "params": {"epochs": params.epochs, "lr": params.lr, "device": params.device, "extra": params.extra},
            "checkout": {"path": str(checkout.path), "revision": external.git_revision(checkout.path),
                         "docker_image": checkout.docker_image},
            "metrics": metrics,
            "warnings": warnings,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def _preprocess(self, checkout: Checkout, video: str, data: str, device: str, progress: Progress) -> None:
        steps = self.preprocess_steps(video, data)
        total = sum(step.weight for step in steps)
        done = 0.0
        for step in steps:
            share = scaled(progress, done / total, (done + step.weight) / total)
            share("preprocess", 0.0, gettext_noop("preprocess: {step}", step=step.name))
            tail = external.run_command(checkout.command(step.args, device), "preprocess", share)
            if missing := external.missing_outputs(checkout.path / data, step.outputs):
                raise ExternalCommandFailed("preprocess", gettext_noop("{step} wrote no {files} in {folder}", step=step.name,
                                                                       files=", ".join(missing), folder=data), tail)
            done += step.weight

    def _train_stages(self, checkout: Checkout, data: str, stages: list[TrainingStage], train_frames: int, device: str,
                      progress: Progress, seconds: dict[str, float]) -> dict:
        runs = iterations_run(stages, train_frames)
        total = sum(runs)
        start, span = TRAINING[0], TRAINING[1] - TRAINING[0]
        done = 0
        metrics: dict = {}
        for stage, iterations in zip(stages, runs):
            clock = time.monotonic()
            args = ["main.py", data, "--workspace", stage.workspace, *stage.args, "--iters", str(stage.iters)]
            if stage.head_from:
                # README: "<head>.pth should be the latest checkpoint" of the head workspace.
                head = external.latest_epoch_checkpoint(checkout.path / stage.head_from)
                args += ["--head_ckpt", str(head.relative_to(checkout.path))]
            command = checkout.command(args, device)
            parser = external.TrainerParser()
            share = scaled(progress, start + span * done / total, start + span * (done + iterations) / total)
            tail = external.run_command(command, stage.name, share, parser)
            if external.latest_epoch_checkpoint(checkout.path / stage.workspace) is None:
                raise ExternalCommandFailed(stage.name, gettext_noop("main.py wrote no checkpoint in {folder}", folder=f"{stage.workspace}/checkpoints"),
                                            tail)
            metrics[stage.name.removeprefix("train_")] = parser.metrics
            seconds[stage.name] = time.monotonic() - clock
            done += iterations
        return metrics

    # ---- rendering ----

    def missing_render_files(self, model_dir: Path) -> list[str]:
        """Files `main.py --test --test_train` would fail on, named relative to the model dir."""
        missing = [name for name in self.render_files if not (model_dir / name).is_file()]
        if missing:
            return missing
        frames = json.loads((model_dir / "transforms_train.json").read_text())["frames"]
        return [pattern.format(frame["img_id"]) for frame in frames for pattern in self.frame_files
                if not (model_dir / pattern.format(frame["img_id"])).is_file()]

    def render(self, model_dir: Path, audio_path: Path, out_path: Path, progress: Progress = no_progress, device: str = "cpu") -> RenderResult:
        model_dir, out_path = Path(model_dir).resolve(), Path(out_path)
        manifest = self._manifest(model_dir)
        if missing := self.missing_render_files(model_dir):
            shown = ", ".join(missing[:SHOWN_MISSING])
            if len(missing) > SHOWN_MISSING:
                shown = gettext_noop("{files} and {more} more", files=shown, more=len(missing) - SHOWN_MISSING)
            raise ValueError(gettext_noop("the {model_type} model in {name} is incomplete ({shown} missing): train it again",
                                          model_type=self.model_type, name=model_dir.name, shown=shown))
        progress = external.monotone(progress)
        progress("check", 0.0, gettext_noop("checking the {model_type} checkout", model_type=self.model_type))
        checkout = self._ready_checkout(device)
        timings: dict[str, float] = {}
        out_path.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{self.manifest_name[:-5]}-render-", dir=out_path.parent)).resolve()
        # The features the model was trained with, whatever is configured now.
        asr_model = manifest["asr_model"]
        try:
            clock = time.monotonic()
            samples = media.load_declared_audio(audio_path, AUDIO_RATE)
            if not len(samples):
                raise ValueError(gettext_noop("the driving audio is empty"))
            wav = scratch / "aud.wav"
            media.write_wav(wav, samples, AUDIO_RATE)
            driving = wav
            if features := self.feature_command(str(wav), asr_model):
                args, output = features
                external.run_command(checkout.command(args, device, [scratch]), "features", scaled(progress, 0.02, 0.15))
                driving = Path(output)
                if not driving.is_file():
                    raise ExternalCommandFailed("features", gettext_noop("{script} wrote no {file}", script=args[0], file=driving.name))
            timings["features"] = time.monotonic() - clock

            clock = time.monotonic()
            workspace = scratch / "workspace"
            command = checkout.command(
                ["main.py", model_dir, "--workspace", workspace, "-O", *self.inference_flags(manifest), "--test", "--test_train",
                 "--asr_model", asr_model, "--aud", driving, "--ckpt", model_dir / manifest["checkpoint"],
                 # the learned per-frame codes are sized by it: another value cannot load the checkpoint
                 "--ind_num", str(manifest.get("ind_num", self.default_ind_num))],
                device, [model_dir, scratch])
            tail = external.run_command(command, "inference", scaled(progress, 0.15, 0.9), external.TrainerParser())
            rendered = external.rendered_video(workspace / "results")
            if rendered is None:
                raise ExternalCommandFailed("inference", gettext_noop("main.py wrote no video in {folder}", folder=str(workspace / "results")), tail)
            timings["inference"] = time.monotonic() - clock

            clock = time.monotonic()
            encoded = scratch / "out.mp4"
            frames, width, height = external.reencode(rendered, encoded, samples, "encode", scaled(progress, 0.9, 1.0))
            encoded.replace(out_path)
            timings["encode"] = time.monotonic() - clock
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        progress("encode", 1.0, gettext_noop("rendered {frames} frames to {name}", frames=frames, name=out_path.name))
        return RenderResult(video_path=out_path, frames=frames, fps=float(FPS), width=width, height=height,
                            duration=frames / FPS, timings={name: round(value, 2) for name, value in timings.items()})



def write_blink_csv(data_dir: Path) -> None:
    """au.csv in OpenFace's layout (" AU45_r" column, one row per frame) from the eye landmarks.

    The eye aspect ratio of the 68-point landmarks (ori_imgs/<i>.lms) relative to the
    person's open-eye ratio stands in for OpenFace's AU45 intensity, which ER-NeRF
    clips to 0..2 (provider.py). Frames without landmarks count as open eyes.
    """
    frames = len(list((data_dir / "ori_imgs").glob("*.jpg")))
    ratios = np.full(frames, np.nan)
    for index in range(frames):
        path = data_dir / "ori_imgs" / f"{index}.lms"
        if path.is_file():
            ratios[index] = eye_openness(np.loadtxt(path).reshape(-1, 2))
    known = ratios[~np.isnan(ratios)]
    open_ratio = float(np.percentile(known, 90)) if len(known) else 1.0
    ratios = np.where(np.isnan(ratios), open_ratio, ratios)
    # Closed at about a third of the open ratio; AU45 2.0 is the strongest blink ER-NeRF uses.
    blink = 2.0 * np.clip((open_ratio - ratios) / (0.65 * open_ratio + 1e-6), 0.0, 1.0)
    rows = ["frame, AU45_r"] + [f"{index + 1}, {value:.3f}" for index, value in enumerate(blink)]
    (data_dir / "au.csv").write_text("\n".join(rows) + "\n")


def _int_param(params: TrainParams, name: str) -> int | None:
    value = params.extra.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(gettext_noop("custom parameter {name} must be a whole number, not '{value}'", name=name, value=value)) from None
    if number < 1:
        raise ValueError(gettext_noop("custom parameter {name} must be at least 1", name=name))
    return number


def _flag_param(params: TrainParams, name: str, default: bool) -> bool:
    value = str(params.extra.get(name, "")).strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(gettext_noop("custom parameter {name} must be true or false, not '{value}'", name=name, value=value))
