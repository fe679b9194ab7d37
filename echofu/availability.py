"""Whether an engine can run on this machine, as the pages and forms ask it, remembered a while.

The engines answer `availability() -> (usable, reason)` themselves; some answers cost time (an
external checkout's interpreter imports torch, a CosyVoice server is asked over the network), and
every page load asks, so each answer is kept for TTL_SECONDS per engine and configuration.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from echofu.messages import localized
from engines.messages import gettext_noop

TTL_SECONDS = 60.0

_answers: dict[tuple, tuple[float, tuple[bool, str]]] = {}
_lock = threading.Lock()


def remembered(key: tuple, name: str, check: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    """`check()` for `key` (the engine and its configuration: a changed setting is asked anew),
    or its answer of less than TTL_SECONDS ago. A check that raises makes the engine unusable."""
    with _lock:
        cached = _answers.get(key)
    if cached and time.monotonic() - cached[0] < TTL_SECONDS:
        return cached[1]
    try:
        answer = check()
    except Exception as exc:
        answer = (False, gettext_noop("{name} cannot be used: {error}", name=name, error=str(exc)))
    with _lock:
        _answers[key] = (time.monotonic(), answer)
    return answer


def listing(name: str, answer: tuple[bool, str]) -> dict:
    """The engine's row for the pages, its reason in the request's language."""
    usable, reason = answer
    return {"name": name, "available": usable, "reason": localized(reason)}
