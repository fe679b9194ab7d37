"""Driving an external checkout (ER-NeRF, SyncTalk) through its own command lines.

Project-agnostic machinery: how the checkout's interpreter is started (directly or
inside a Docker image), running one command while turning its output into progress
and a bounded log tail, stopping it for good on cancel, and picking checkpoints,
data files and the rendered video out of the directories the project writes.
"""
from __future__ import annotations

import codecs
import ctypes
import logging
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import cv2
import numpy as np
import psutil

from engines import media
from engines.messages import Message, gettext_noop
from engines.progress import Progress, stage_name

logger = logging.getLogger(__name__)

FPS = 25  # both projects train and render at 25 fps (data_utils/process.py extract_images)
AUDIO_RATE = 16000  # process.py extract_audio: ffmpeg -ar 16000
MAX_SIDE = 512  # "The resolution should be about 512x512" (README)

TERMINATE_GRACE_SECONDS = 5.0
POLL_SECONDS = 1.0
NOTE_EVERY_SHARE = 0.05
NOTE_EVERY_SECONDS = 60.0
LOG_TAIL_LINES = 200
ERROR_TAIL_LINES = 40
MAX_LINE_CHARS = 500
CUDA_CHECK_SECONDS = 60.0
CUDA_PROBE = "import torch; print(torch.cuda.is_available())"

# Pipes are block-buffered: without this, print() lines (epochs) arrive long after tqdm's
# stderr bars. Rich (the Trainer's console) wraps at COLUMNS.
CHILD_ENV = {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}


class ExternalUnavailable(RuntimeError):
    """The checkout, its interpreter or CUDA is missing; the message says which and how to fix it."""


# What the projects print when they fail for a reason a user can act on (their own messages,
# read from their source), and what it means; a meaning with a value is given what the pattern found.
KNOWN_FAILURES = (
    (re.compile(r"object of type 'NoneType' has no len\(\)"),
     gettext_noop("face_alignment found no face in a frame (process.py extract_landmarks)")),
    (re.compile(r"dataset too many frames: (\d+)"), gettext_noop("more training frames than --ind_num individual codes")),
    (re.compile(r"size mismatch for individual_codes"), gettext_noop("the checkpoint was trained with another --ind_num")),
    (re.compile(r"CUDA out of memory|OutOfMemoryError"), gettext_noop("the GPU ran out of memory")),
    (re.compile(r"!_src\.empty\(\) in function 'cvtColor'"),
     gettext_noop("an image main.py reads per frame is missing (torso_imgs)")),
    (re.compile(r"need at least one array to stack"), gettext_noop("no training frame has its gt_imgs image")),
    (re.compile(r"No such file or directory: '([^']+)'|FileNotFoundError: (\S+) not found\."),
     gettext_noop("missing file {path}", path="")),
)


def explain(tail: Sequence[str]) -> Message | str:
    """The meaning of the last known failure in the output, or ''."""
    for line in reversed(tail):
        for pattern, meaning in KNOWN_FAILURES:
            if found := pattern.search(line):
                value = next((group for group in found.groups() if group), "")
                return Message(meaning.template, **{name: value for name in meaning.params})
    return ""


class ExternalCommandFailed(RuntimeError):
    """A checkout command exited non-zero or did not write what it should have; carries the output tail."""

    def __init__(self, stage: str, summary: str, tail: Sequence[str] = ()):
        self.stage = stage
        self.tail = list(tail)[-ERROR_TAIL_LINES:]
        if meaning := explain(self.tail):
            summary = Message("{summary} ({meaning})", summary=summary, meaning=meaning)
        self.summary = summary
        if self.tail:
            # the project's output is passed on as it came; only our words around it are translated
            reason = gettext_noop("{stage} failed: {summary}\n--- last output ---\n{output}",
                                  stage=stage_name(stage), summary=summary, output="\n".join(self.tail))
        else:
            reason = gettext_noop("{stage} failed: {summary}", stage=stage_name(stage), summary=summary)
        super().__init__(reason)


def cuda_index(device: str) -> str | None:
    """"cuda:1" -> "1"; "cuda" and "cpu" name no particular GPU."""
    kind, _, index = device.partition(":")
    return index if kind == "cuda" and index.isdigit() else None


@dataclass(frozen=True)
class Command:
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    container: str | None = None  # docker container name, to kill it: the docker client does not pass SIGKILL on

    def __str__(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class Checkout:
    """Where a project lives and how its Python is started."""

    path: Path
    python: str = "python"
    docker_image: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    def command(self, args: Sequence[str | os.PathLike], device: str = "cpu", mounts: Iterable[Path] = ()) -> Command:
        """`python <args>` run in the checkout on `device`; `mounts` are the outside directories it reads or writes."""
        args = [str(arg) for arg in args]
        gpu = cuda_index(device)
        if self.docker_image is None:
            env = {**os.environ, **CHILD_ENV, **self.env}
            interpreter = shutil.which(self.python)
            if interpreter:
                # process.py starts its helper scripts as a bare `python` (os.system): make it this one.
                env["PATH"] = str(Path(interpreter).parent) + os.pathsep + env.get("PATH", "")
            if gpu is not None:
                env["CUDA_VISIBLE_DEVICES"] = gpu
            return Command([self.python, *args], self.path, env)
        name = f"echofu-{uuid.uuid4().hex[:12]}"
        # Paths are mounted at the same place inside, so no argument needs translating.
        # --init: a PID-1 python ignores SIGTERM; the init forwards it.
        # As this user, not the image's root: the data, workspaces and results it writes into the
        # mounted checkout are moved and deleted here afterwards, which root-owned files refuse.
        argv = ["docker", "run", "--rm", "--init", "--name", name, "--user", f"{os.getuid()}:{os.getgid()}", "-e", "HOME=/tmp",
                "--gpus", f"device={gpu}" if gpu is not None else "all", "-w", str(self.path)]
        for directory in dict.fromkeys([self.path, *mounts]):
            argv += ["-v", f"{directory}:{directory}"]
        for key, value in {**CHILD_ENV, **self.env}.items():
            argv += ["-e", f"{key}={value}"]
        argv += [self.docker_image, self.python, *args]
        return Command(argv, self.path, dict(os.environ), container=name)

    def describe(self) -> Message | str:
        return gettext_noop("{python} in docker image {image}", python=self.python, image=self.docker_image) if self.docker_image else self.python


def cuda_problem(checkout: Checkout, device: str = "cuda") -> Message | None:
    """Why the checkout's interpreter cannot use CUDA, or None when it can."""
    command = checkout.command(["-c", CUDA_PROBE], device)
    who = checkout.describe()
    try:
        done = subprocess.run(command.argv, cwd=command.cwd, env=command.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=CUDA_CHECK_SECONDS)
    except FileNotFoundError:
        return gettext_noop("{program} not found", program=command.argv[0])
    except subprocess.TimeoutExpired:
        _kill_container(command)
        return gettext_noop("{who} did not answer within {seconds:.0f} s when asked whether CUDA is available",
                            who=who, seconds=CUDA_CHECK_SECONDS)
    if done.returncode != 0:
        lines = (done.stdout + done.stderr).strip().splitlines()
        # the interpreter's own last line is passed on as it came
        reason = lines[-1] if lines else gettext_noop("exit code {code}", code=done.returncode)
        return gettext_noop("{who} cannot import torch: {reason}", who=who, reason=reason)
    if done.stdout.strip().splitlines()[-1:] == ["True"]:
        return None
    return gettext_noop("CUDA is not available to {who}", who=who)


def git_revision(checkout: Path) -> str | None:
    """The commit the checkout is at, read from .git without a git binary."""
    git = checkout / ".git"
    try:
        if git.is_file():  # worktrees and submodules: "gitdir: <path>"
            git = (checkout / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
    except (OSError, IndexError):
        return None
    if not head.startswith("ref:"):
        return head or None
    ref = head[4:].strip()
    try:
        return (git / ref).read_text().strip()
    except OSError:
        pass
    try:
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None


# ---- reading progress out of the output ----

# tqdm: "loss=0.0123 (0.0145), lr=0.009876:  45% 123/270 [00:12<00:15,  9.87it/s]" (nerf_triplane/utils.py
# Trainer bar_format) or the default "100%|#####| 75/75 [00:01<00:00, 50.1it/s]" (face parsing, landmarks).
BAR = re.compile(
    r"(?P<n>\d+)/(?P<total>\d+) \[(?P<elapsed>[\d:]+)<(?P<remaining>[\d:]+|\?)"
    r"(?:,\s*(?P<rate>[\d.]+|\?)(?P<unit>it/s|s/it))?"
)
TRACKER = re.compile(r"^(?P<n>\d+) of (?P<total>\d+) done$")  # data_utils/face_tracking/face_tracker.py
def is_bar(line: str) -> bool:
    return BAR.search(line) is not None


def clock_seconds(text: str) -> float | None:
    """tqdm's "MM:SS" / "H:MM:SS"; None for "?"."""
    if not text or text == "?":
        return None
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def items_per_second(rate: str | None, unit: str | None) -> float | None:
    if not rate or rate == "?":
        return None
    value = float(rate)
    if value <= 0:
        return None
    return value if unit == "it/s" else 1.0 / value


@dataclass
class Reading:
    fraction: float
    eta: float | None = None


class BarParser:
    """Progress of one command from whatever bar it prints last (preprocessing, feature extraction)."""

    def feed(self, line: str) -> Reading | None:
        if found := TRACKER.match(line):
            return Reading(int(found["n"]) / max(int(found["total"]), 1))
        if found := BAR.search(line):
            return Reading(int(found["n"]) / max(int(found["total"]), 1), clock_seconds(found["remaining"]))
        return None


class TrainerParser:
    """Progress of a `main.py` run from the Trainer's output (nerf_triplane/utils.py).

    Training: "[INFO] max_epoch = M", then per epoch "==> Start Training Epoch E, lr=..." and a
    bar over the frames; a resumed run (lips finetune) starts at the loaded epoch + 1. Test-only
    runs (inference) show one bar after "==> Start Test". Evaluation bars and the dataset
    loading bars are not progress. The last loss and evaluation metrics are kept.
    """

    METRICS = {"psnr": re.compile(r"^PSNR = ([\d.]+)"), "lpips": re.compile(r"^LPIPS \(\w+\) = ([\d.]+)"),
               "lmd": re.compile(r"^LMD \(\w+\) = ([\d.]+)")}
    LOSS = re.compile(r"loss=[\d.naif]+ \(([\d.]+)\)")

    def __init__(self) -> None:
        self.mode = ""
        self.max_epoch: int | None = None
        self.first_epoch: int | None = None
        self.epoch = 0
        self.metrics: dict[str, float] = {}

    def feed(self, line: str) -> Reading | None:
        if found := re.match(r"\[INFO\] max_epoch = (\d+)", line):
            self.max_epoch = int(found[1])
        elif found := re.match(r"==> Start Training Epoch (\d+)", line):
            self.mode, self.epoch = "train", int(found[1])
            self.first_epoch = self.first_epoch or self.epoch
        elif line.startswith("++> Evaluate"):
            self.mode = "eval"
        elif line.startswith("==> Start Test"):
            self.mode = "test"
        for name, pattern in self.METRICS.items():
            if found := pattern.match(line):
                self.metrics[name] = float(found[1])
        bar = BAR.search(line)
        if bar is None:
            return None
        done, total = int(bar["n"]), max(int(bar["total"]), 1)
        if self.mode == "train" and self.max_epoch and self.first_epoch:
            if loss := self.LOSS.search(line):
                self.metrics["loss"] = float(loss[1])
            epochs = max(self.max_epoch - self.first_epoch + 1, 1)
            fraction = (self.epoch - self.first_epoch + done / total) / epochs
            rate = items_per_second(bar["rate"], bar["unit"])
            left = (total - done) + max(self.max_epoch - self.epoch, 0) * total
            return Reading(min(fraction, 1.0), left / rate if rate else None)
        if self.mode == "test" and self.max_epoch is None:
            return Reading(done / total, clock_seconds(bar["remaining"]))
        return None


# ---- running one command ----


class _OutputReporter:
    """Turns output lines into progress calls: fraction, ETA notes, batched log lines, a tail."""

    def __init__(self, stage: str, progress: Progress, parser: BarParser | TrainerParser):
        self.stage = stage
        self.progress = progress
        self.parser = parser
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.pending: list[str] = []
        self.fraction = 0.0
        self.eta: float | None = None
        self.last_call = 0.0
        self.noted_share = 0.0
        self.noted_at = time.monotonic()
        self.previous_was_bar = False

    def line(self, text: str) -> None:
        text = text.strip()[:MAX_LINE_CHARS]
        if not text:
            return
        reading = self.parser.feed(text)
        if reading is not None:
            self.fraction = max(self.fraction, min(reading.fraction, 1.0))
            self.eta = reading.eta
        if is_bar(text):
            # Bars redraw many times a second: keep only the latest one in the tail.
            if self.previous_was_bar:
                self.tail.pop()
            self.tail.append(text)
            self.previous_was_bar = True
            return
        self.previous_was_bar = False
        self.tail.append(text)
        self.pending.append(text)

    def tick(self, force: bool = False) -> None:
        """Report now and then; also the moment a cancel request is noticed (the callback raises)."""
        now = time.monotonic()
        if not force and now - self.last_call < POLL_SECONDS:
            return
        lines = self.pending
        self.pending = []
        self.last_call = now
        self.progress(self.stage, self.fraction, "\n".join(lines))
        due = self.fraction - self.noted_share >= NOTE_EVERY_SHARE or now - self.noted_at >= NOTE_EVERY_SECONDS
        if self.eta is not None and due:
            # a call of its own: the project's lines go on as plain text, this one is ours to translate
            self.noted_share, self.noted_at = self.fraction, now
            self.progress(self.stage, self.fraction, gettext_noop("{stage}: {fraction:.0%}, eta {seconds:.0f}s",
                                                                  stage=stage_name(self.stage), fraction=self.fraction, seconds=self.eta))


def run_command(command: Command, stage: str, progress: Progress, parser: BarParser | TrainerParser | None = None) -> list[str]:
    """Run to the end, reporting `stage` progress 0..1; returns the output tail.

    Raises ExternalCommandFailed on a non-zero exit. When the callback raises (Cancelled) the
    whole process group -- and the container -- is stopped before the exception goes on.
    """
    reporter = _OutputReporter(stage, progress, parser or BarParser())
    reporter.progress(stage, 0.0, f"$ {command}")
    try:
        process = subprocess.Popen(command.argv, cwd=command.cwd, env=command.env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                   preexec_fn=_end_with_the_caller if sys.platform.startswith("linux") else None)
    except OSError as exc:
        raise ExternalCommandFailed(stage, gettext_noop("cannot start {program}: {reason}", program=command.argv[0], reason=str(exc))) from exc
    try:
        _pump(process, reporter)
        process.wait()
    except BaseException:
        stop(process, command)
        raise
    finally:
        process.stdout.close()
    reporter.tick(force=True)
    if process.returncode != 0:
        raise ExternalCommandFailed(stage, gettext_noop("exit code {code} from {command}", code=process.returncode, command=str(command)),
                                    reporter.tail)
    return list(reporter.tail)


PR_SET_PDEATHSIG = 1


def _end_with_the_caller() -> None:
    """In the child, before exec: SIGTERM when the thread that started it dies. Its own session keeps
    it out of signals meant for the worker, so a worker killed outright (SIGKILL, out of memory)
    would otherwise leave it training on, unseen, on a GPU the next job is given."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _pump(process: subprocess.Popen, reporter: _OutputReporter) -> None:
    """Feed output to the reporter until end of file; tqdm redraws with '\\r', so both end a line."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    partial = ""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            if selector.select(POLL_SECONDS):
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                *lines, partial = re.split(r"[\r\n]", partial + decoder.decode(chunk))
                for line in lines:
                    reporter.line(line)
            reporter.tick()
    reporter.line(partial + decoder.decode(b"", final=True))


def stop(process: subprocess.Popen, command: Command) -> None:
    """SIGTERM to the whole group (os.system helpers included), SIGKILL after a grace period."""
    _kill_container(command)
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(TERMINATE_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    # Members that ignored SIGTERM, or outlived the leader.
    _signal_group(process, signal.SIGKILL)
    process.wait()
    _wait_for_group_to_end(process.pid, TERMINATE_GRACE_SECONDS)


def _wait_for_group_to_end(group: int, timeout: float) -> None:
    """SIGKILL is delivered, not done: a member that is not our child (an os.system helper) may
    still hold the GPU for a moment after killpg returns. Zombies count as gone: whoever
    inherited them reaps them, not us."""
    deadline = time.monotonic() + timeout
    while _has_live_members(group):
        if time.monotonic() > deadline:
            logger.warning("process group %d still has live members %.0f s after SIGKILL", group, timeout)
            return
        time.sleep(0.02)


def _has_live_members(group: int) -> bool:
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == group and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return True
        except (OSError, psutil.Error):  # gone meanwhile, or not ours to read
            pass
    return False


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_container(command: Command) -> None:
    if command.container:
        subprocess.run(["docker", "kill", command.container], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=60, check=False)


# ---- files ----


def training_size(width: int, height: int) -> tuple[int, int]:
    """At most MAX_SIDE on the long side, even sides (yuv420p)."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def convert_video(source: Path, target: Path, stage: str, progress: Progress,
                  keep: Callable[[np.ndarray], bool] | None = None) -> tuple[int, int]:
    """What the projects expect of `data/<ID>/<ID>.mp4`: 25 fps, about 512 px, H.264 + AAC.

    Frames `keep` turns down are cut together with their 1/25 s of audio, so sound and picture
    stay in step. Returns (frames written, frames cut).
    """
    info = media.probe(source)
    width, height = training_size(info.width, info.height)
    expected = max(1, round(info.duration * FPS))
    audio = media.load_audio(source, AUDIO_RATE, max_seconds=media.longest_accepted(info.duration))
    kept = None
    if keep is not None:
        kept = []
        for frame in media.iter_video_frames(source, fps=FPS):
            kept.append(keep(frame))
            if len(kept) % FPS == 0:
                progress(stage, 0.5 * min(len(kept) / expected, 1.0))
        audio = _cut_audio(audio, kept)
    frames = cut = 0
    with media.VideoWriter(target, width, height, FPS, audio=audio, audio_rate=AUDIO_RATE) as writer:
        for index, frame in enumerate(media.iter_video_frames(source, fps=FPS)):
            if kept is not None and not (index < len(kept) and kept[index]):
                cut += 1
                continue
            if frame.shape[:2] != (height, width):
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            writer.write(frame)
            frames += 1
            if frames % FPS == 0:
                share = min(frames / expected, 1.0)
                progress(stage, 0.5 + 0.5 * share if kept is not None else share)
    return frames, cut


def _cut_audio(audio: np.ndarray, kept: list[bool]) -> np.ndarray:
    """The audio of the kept frames (1/FPS s each), and whatever follows the last frame if it is kept."""
    step = AUDIO_RATE // FPS
    pieces = [audio[index * step:(index + 1) * step] for index, keep in enumerate(kept) if keep]
    if kept and kept[-1]:
        pieces.append(audio[len(kept) * step:])
    return np.concatenate(pieces) if pieces else audio[:0]


def reencode(rendered: Path, target: Path, audio: np.ndarray, stage: str, progress: Progress) -> tuple[int, int, int]:
    """The project's silent render as the product's MP4: H.264 + AAC, 25 fps, with `audio`. (frames, w, h)"""
    # The render's frames are its model's size: the limit on what users send does not apply to them.
    with media.frame_sides_at_most(None):
        info = media.probe(rendered)
        width, height = info.width // 2 * 2, info.height // 2 * 2
        expected = max(1, round(info.duration * FPS))
        with media.VideoWriter(target, width, height, FPS, audio=audio, audio_rate=AUDIO_RATE, comment=media.AI_GENERATED) as writer:
            for frame in media.iter_video_frames(rendered, fps=FPS):
                writer.write(np.ascontiguousarray(frame[:height, :width]))
                if writer.frames_written % FPS == 0:
                    progress(stage, min(writer.frames_written / expected, 1.0))
            frames = writer.frames_written
    if frames == 0:
        target.unlink(missing_ok=True)
        raise ExternalCommandFailed(stage, gettext_noop("{name} holds no frames", name=rendered.name))
    return frames, width, height


def rendered_video(results: Path) -> Path | None:
    """The newest `<name>.mp4` Trainer.test wrote, not its `_depth` twin nor SyncTalk's ffmpeg `_audio` mux."""
    videos = [path for path in results.glob("*.mp4") if not path.stem.endswith(("_depth", "_audio"))]
    return max(videos, key=lambda path: path.stat().st_mtime, default=None)


EPOCH_CHECKPOINT = re.compile(r"^ngp_ep(\d+)\.pth$")


def latest_epoch_checkpoint(workspace: Path) -> Path | None:
    """`<workspace>/checkpoints/ngp_epNNNN.pth` of the highest epoch (Trainer.save_checkpoint)."""
    found = [(int(match[1]), path) for path in (workspace / "checkpoints").glob("ngp_ep*.pth")
             if (match := EPOCH_CHECKPOINT.match(path.name))]
    return max(found)[1] if found else None


def final_checkpoint(workspace: Path) -> Path | None:
    """`ngp.pth` (EMA weights, saved after each evaluation) unless a later epoch was never evaluated."""
    best = workspace / "checkpoints" / "ngp.pth"
    latest = latest_epoch_checkpoint(workspace)
    if best.is_file() and (latest is None or best.stat().st_mtime >= latest.stat().st_mtime):
        return best
    return latest


def missing_outputs(directory: Path, patterns: Iterable[str]) -> list[str]:
    return [pattern for pattern in patterns if next(directory.glob(pattern), None) is None]


def move_matching(source: Path, target: Path, patterns: Iterable[str]) -> int:
    """Move the files under `source` matching the glob patterns to the same relative place under `target`."""
    moved = 0
    for pattern in patterns:
        for path in sorted(source.glob(pattern)):
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, destination)
            moved += 1
    return moved


def monotone(progress: Progress) -> Progress:
    """Never report less than before: a stage that restarts a bar must not move the job backwards."""
    highest = 0.0

    def report(stage: str, fraction: float, message: str = "") -> None:
        nonlocal highest
        highest = max(highest, min(max(fraction, 0.0), 1.0))
        progress(stage, highest, message)

    return report
