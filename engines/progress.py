"""The progress protocol shared by every long-running engine call."""
from __future__ import annotations

from typing import Protocol

from engines.messages import Message, gettext_noop


class Cancelled(Exception):
    """Raised from a progress callback to stop the engine call that invoked it."""


class Progress(Protocol):
    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        """Report that `stage` is `fraction` (0..1) done; `message` goes to the job log.

        The callback may raise `Cancelled`; engines let it propagate and leave
        no finished-looking output behind.
        """


def no_progress(stage: str, fraction: float, message: str = "") -> None:
    return None


def scaled(progress: Progress, start: float, end: float) -> Progress:
    """A callback that maps 0..1 of a sub-step onto start..end of the parent's range."""

    def report(stage: str, fraction: float, message: str = "") -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        progress(stage, start + (end - start) * fraction, message)

    return report


def staged(progress: Progress, shares: dict[str, float]) -> Progress:
    """A callback for a call made of consecutive stages, each reporting its own 0..1: stage by stage
    (in the order of `shares`) they fill 0..1 in proportion to their shares, so the fraction passed on
    never moves back when the next stage starts at 0 (nor does an ETA computed from it jump)."""
    total = sum(shares.values())
    ranges, start = {}, 0.0
    for stage, share in shares.items():
        ranges[stage] = scaled(progress, start, start + share / total)
        start += share / total

    def report(stage: str, fraction: float, message: str = "") -> None:
        ranges[stage](stage, fraction, message)

    return report


# Job stages as the engines, the job runner and the chat report them (English identifiers, see their
# progress() calls), as users read them: on the job cards, and in the notes and failures that name a
# stage. A stage not listed here is shown as reported.
STAGE_NAMES = {
    "queued": gettext_noop("queued"),
    "starting": gettext_noop("starting"),
    "done": gettext_noop("done"),
    "failed": gettext_noop("failed"),
    "cancelled": gettext_noop("cancelled"),
    "probe": gettext_noop("reading the video"),
    "check": gettext_noop("input check"),
    "face check": gettext_noop("face check"),
    "prepare": gettext_noop("preparing"),
    "track": gettext_noop("face tracking"),
    "crop": gettext_noop("face crop"),
    "audio": gettext_noop("audio"),
    "train": gettext_noop("training"),
    "preprocess": gettext_noop("preprocessing the video"),
    "train_head": gettext_noop("training the head"),
    "train_lips": gettext_noop("training the lips"),
    "train_torso": gettext_noop("training the torso"),
    "features": gettext_noop("audio features"),
    "evaluate": gettext_noop("evaluation"),
    "package": gettext_noop("saving the model"),
    "collect": gettext_noop("saving the model"),
    "register": gettext_noop("registering the model"),
    "load": gettext_noop("loading the model"),
    "render": gettext_noop("rendering"),
    "inference": gettext_noop("rendering"),
    "encode": gettext_noop("encoding"),
    "provenance": gettext_noop("AI label"),
    "decode": gettext_noop("decoding"),
    "clean": gettext_noop("cleaning"),
    "pitch": gettext_noop("pitch"),
    "embed": gettext_noop("voice features"),
    "transcribe": gettext_noop("transcription"),
    "analyse reference": gettext_noop("analysing the reference"),
    "align with the base voice": gettext_noop("aligning with the base voice"),
    "fit": gettext_noop("fitting the voice"),
    "condition": gettext_noop("conditioning"),
    "speech states": gettext_noop("speech states"),
    "synthesize": gettext_noop("speech synthesis"),
    "room_tone": gettext_noop("room tone"),
    "whisper weights": gettext_noop("speech recognition weights"),
    "llm weights": gettext_noop("language model weights"),
    "input": gettext_noop("reading the question"),
    "asr": gettext_noop("speech recognition"),
    "llm": gettext_noop("reply"),
    "tts": gettext_noop("voice"),
    "join": gettext_noop("joining the video"),
}


def stage_name(stage: str) -> Message | str:
    return STAGE_NAMES.get(stage, stage)
