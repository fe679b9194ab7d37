"""The peak memory of one call, for tests that a bounded read stays bounded."""
from __future__ import annotations

import tracemalloc
from typing import Callable, TypeVar

T = TypeVar("T")


def traced_peak(call: Callable[[], T]) -> tuple[T, int]:
    """`call()`'s result, and the most bytes allocated at once while it ran (numpy's arrays included)."""
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
