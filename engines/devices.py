"""Which device a job runs on: the one rule, and a GPU count that needs no torch.

The web process decides a job's queue from `visible_gpu_count()` (NVML, no torch import); an
engine inside the worker applies the same `choose_device` rule to what its own framework sees.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from engines.messages import Message, gettext_noop


@contextmanager
def nvml() -> Iterator[ModuleType | None]:
    """pynvml, initialised for the block and shut down after it; None without the package or a driver."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        yield None
        return
    try:
        yield pynvml
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass  # a driver lost meanwhile: there is nothing left to release


def visible_gpu_count() -> int:
    """NVIDIA GPUs this process may use (NVML, honouring CUDA_VISIBLE_DEVICES); 0 without a driver."""
    with nvml() as library:
        try:
            count = library.nvmlDeviceGetCount() if library else 0
        except Exception:
            count = 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = min(count, len([item for item in visible.split(",") if item.strip() and item.strip() != "-1"]))
    return count


def choose_device(requested: str, gpu_count: int, cpu_fallback: bool = True) -> tuple[str, Message | str]:
    """(device to run on, warning): a GPU that is not here falls back to the CPU when the engine can run there.

    `requested` is "cpu" or "cuda:N"; an engine that needs CUDA keeps its GPU and reports the
    missing device itself when it starts.
    """
    if not requested.startswith("cuda"):
        return "cpu", ""
    index = int(requested.partition(":")[2] or 0)
    if index < gpu_count or not cpu_fallback:
        return f"cuda:{index}", ""
    return "cpu", gettext_noop("warning: {requested} requested but CUDA is not available for it here ({count} GPU(s)), running on CPU",
                               requested=requested, count=gpu_count)
