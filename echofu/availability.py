"""Whether an engine can run on this machine, as the pages and forms ask it, remembered a while.

The engines answer `availability() -> (usable, reason)` themselves; some answers cost time (an
external checkout's interpreter imports torch, a CosyVoice server is asked over the network), and
every page load asks, so each answer is kept for TTL_SECONDS per engine and configuration.

A reason names the server's paths (a checkout, a weights folder) and the addresses of the servers it
calls (CosyVoice, an LLM provider): the operator needs them, while the other accounts of a multi-user
studio read it as the job errors are shown to them, without.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from echofu import ownership
from echofu.messages import as_users_read, localized
from engines.messages import Message, gettext_noop

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


def forget() -> None:
    """Ask every engine anew at its next check (tests, whose settings change from one to the next)."""
    with _lock:
        _answers.clear()


def reason_for(reason: Message | str, request_or_user) -> Message | str:
    """An engine's reason as this user may read it: whole for the operator, else without the server's paths and addresses."""
    return reason if ownership.is_operator(request_or_user) else as_users_read(reason)


def listing(name: str, answer: tuple[bool, str], request_or_user) -> dict:
    """The engine's row for the pages, its reason as this user may read it, in the request's language."""
    usable, reason = answer
    return {"name": name, "available": usable, "reason": localized(reason_for(reason, request_or_user))}
