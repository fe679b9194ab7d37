"""Text written for people (why a video is refused, what will be weaker, why a job failed) as an
English template plus its values; the web layer writes its translatable API messages the same way.

Engines import no Django, so they cannot translate: they hand the template and values on, and the
web layer translates the template at display time, in the reader's language
(`echofu.messages.localized`). Templates are written as `gettext_noop("...", name=value)`:
makemessages extracts that name with no extra option, so each template lands in the catalog.
Values keep their format in the template (`{seconds:.1f}`), so a translation formats them too; a
value may itself be a Message (a failure's reason inside "disk full: ... ({reason})"), or a list of
them, read as one text joined by "; " (the reasons a video is refused for).
"""
from __future__ import annotations

import math


class Message(str):
    """Reads as its English text wherever a str goes (logs, exceptions, the admin, tests) and keeps
    its template and values for translation."""

    template: str
    params: dict

    def __new__(cls, template: str, **params) -> Message:
        message = super().__new__(cls, template.format(**{name: _joined(value) for name, value in params.items()}))
        message.template = template
        message.params = params
        return message

    def __getnewargs_ex__(self):
        # pickle (a job result, a queued exception) rebuilds it from template and values, not from its text
        return (self.template,), self.params

    def as_dict(self) -> dict:
        """The JSON-safe form stored on rows; `echofu.messages.localized` reads it back."""
        return {"template": self.template, "params": {name: _kept(value) for name, value in self.params.items()}}


LIST_SEPARATOR = "; "


def _joined(value):
    return LIST_SEPARATOR.join(map(str, value)) if isinstance(value, list) else value


# How a value JSON cannot hold is kept: a float that is not finite (a loss gone to NaN), as its name,
# read back as the float by `kept_value` ("{loss:.4f}" then still formats it). Stored as the bare float it
# made the row's JSON invalid, the database refused the write and the job could not even record its failure.
NOT_FINITE = "not_finite"


def _kept(value):
    if isinstance(value, Message):
        return value.as_dict()
    if isinstance(value, float) and not math.isfinite(value):
        return {NOT_FINITE: repr(value)}
    return [_kept(item) for item in value] if isinstance(value, list) else value


def kept_value(value: dict) -> float | None:
    """The float a value kept as {NOT_FINITE: "nan"} stands for; None for any other dict (a kept Message)."""
    return float(value[NOT_FINITE]) if value.keys() == {NOT_FINITE} else None


class UnusableInput(ValueError):
    """What the user gave cannot be used (a reference with no speech in it, a recording of silence, a text
    with no words): theirs to change, not a fault of the server's. Raised with a Message saying why."""


def gettext_noop(template: str, **params: object) -> Message:
    """The marked spelling of `Message(template, **params)` (see the module's docstring)."""
    return Message(template, **params)
