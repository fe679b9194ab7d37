"""Messages with a template (`engines.messages.Message`: the engines' findings and reasons, and the
API's own where it has one) kept on rows and shown in the reader's language.

A row keeps a message as `{"template", "params"}`, the template in English as it was written;
reading it translates the template with the active language's catalog and fills in the values (a
value kept the same way, or a list of them, is translated too). Rows written before messages kept
their template hold plain text, shown as it stands.
"""
import logging
import re
import string

from django.conf import settings
from django.utils import translation

from engines.messages import LIST_SEPARATOR, Message

logger = logging.getLogger(__name__)

# The language of the legacy contract's `message` texts, whatever the request's language.
CONTRACT_LANGUAGE = "zh-hans"


def reason_of(exc: BaseException) -> str:
    """What an exception says: the Message it was raised with (kept translatable), else its text."""
    if len(exc.args) == 1 and isinstance(exc.args[0], Message):
        return exc.args[0]
    return str(exc)


def restored(kept: dict | str) -> str:
    """A kept message as the Message it was (plain text as it stands), to be passed on as a value."""
    if not isinstance(kept, dict):
        return str(kept)
    return Message(kept["template"], **{name: _restored_value(value) for name, value in kept.get("params", {}).items()})


def _restored_value(value):
    if isinstance(value, list):
        return [restored(item) for item in value]
    return restored(value) if isinstance(value, dict) else value


def stored(message: str) -> dict | str:
    """What a row keeps of `message`: its template and values, or plain text when it has none."""
    return message.as_dict() if isinstance(message, Message) else str(message)


# An absolute path: a slash that starts a word (not one inside "ER-NeRF/SyncTalk", "1/2" or a URL)
# and what follows it up to a space, a quote or a bracket.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`()\[\]{}<>,;]+")
# Where users read the media folder's files: named from it, as the API's file paths are.
_MEDIA_NAME = "media"


def without_server_paths(message: Message | str) -> Message | str:
    """`message` as users may read it: paths in the media folder named from it ("media/results/..."),
    other absolute paths reduced to their last part ("…/model.pth"), so that no user learns where the
    server keeps its files; what the message says is kept, and so is its template."""
    if isinstance(message, Message):
        return Message(message.template, **{name: _without_server_paths_in(value) for name, value in message.params.items()})
    text = re.sub(re.escape(str(settings.MEDIA_ROOT)) + r"(?=[/\s'\"`)\],;]|$)", _MEDIA_NAME, str(message))
    return _ABSOLUTE_PATH.sub(_last_part, text)


def _without_server_paths_in(value):
    if isinstance(value, list):
        return [_without_server_paths_in(item) for item in value]
    return without_server_paths(value) if isinstance(value, str) else value


def _last_part(match: re.Match) -> str:
    path = match.group(0)
    ending = path[len(path.rstrip(".:")):]  # a sentence's full stop after the path stays the sentence's
    name = path[: len(path) - len(ending)].rstrip("/").rpartition("/")[2]
    return f"…/{name}{ending}" if name else path


def localized(message: Message | dict | str) -> str:
    """A message (or one kept on a row) in the active language."""
    kept = stored(message) if isinstance(message, str) else message
    if not isinstance(kept, dict):
        return str(kept)
    template = kept["template"]
    params = {name: _localized_value(value) for name, value in kept.get("params", {}).items()}
    try:
        return translation.gettext(template).format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that names a value the template lacks
        logger.warning("translation of %r does not fit its values; shown in English", template)
        return template.format(**params)


def _localized_value(value):
    if isinstance(value, list):
        return LIST_SEPARATOR.join(localized(item) for item in value)
    return localized(value) if isinstance(value, dict) else value


def localized_all(kept: list) -> list[str]:
    return [localized(message) for message in kept]


def written_from(template: str, text: str) -> Message | None:
    """`text` as the Message it was written from, when it is `template` (a lazily translated text, as
    DRF's error messages are) formatted in the active language: the values are read back out of it.
    None when it is not, or when a value was formatted as a number ("U+{code_point:X}") and so cannot
    be read back as one."""
    with translation.override(None):
        english = str(template)
    pattern, named = [], set()
    for literal, name, format_spec, conversion in string.Formatter().parse(str(template)):
        pattern.append(re.escape(literal))
        if name is None:
            continue
        if format_spec or conversion or not name.isidentifier():
            return None
        pattern.append(f"(?P={name})" if name in named else f"(?P<{name}>.*?)")
        named.add(name)
    match = re.fullmatch("".join(pattern), text, re.DOTALL)
    return None if match is None else Message(english, **match.groupdict())


def in_contract_language(message: Message | dict | str) -> str:
    """A message (or one kept on a row) in the Chinese the legacy contract's `message` texts are written in."""
    with translation.override(CONTRACT_LANGUAGE):
        return localized(message)
