"""The progress protocol shared by every long-running engine call."""
from __future__ import annotations

from typing import Protocol


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
