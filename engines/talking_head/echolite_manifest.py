"""An EchoLite model's manifest (echolite.json): which format its files were saved in. Read apart from
the engine, which loads torch, so that the web process refuses a model this release cannot read before
any job is queued for it."""
from __future__ import annotations

import json
from pathlib import Path

from engines.messages import Message, gettext_noop

MANIFEST = "echolite.json"
FORMAT_VERSION = 4


def stored_format(path: Path) -> int | None:
    try:
        return json.loads((path / MANIFEST).read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return None


def earlier_format(path: Path) -> Message | None:
    """Why the model in `path` cannot be read, when an earlier EchoLite release trained it; else None."""
    found = stored_format(path)
    if isinstance(found, int) and found < FORMAT_VERSION:
        return gettext_noop("EchoLite model {name} was trained by an earlier version of EchoLite (format {format}), "
                            "whose files this one cannot read: train it again", name=path.name, format=found)
    return None
