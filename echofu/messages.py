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
import urllib.parse

from django.conf import settings
from django.utils import translation

from engines.messages import LIST_SEPARATOR, Message, gettext_noop, kept_value

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
        return [_restored_value(item) for item in value]  # an item is kept as a value is: a message, text, a number
    if isinstance(value, dict):
        number = kept_value(value)
        return restored(value) if number is None else number
    return value


def stored(message: str) -> dict | str:
    """What a row keeps of `message`: its template and values, or plain text when it has none."""
    return message.as_dict() if isinstance(message, Message) else str(message)


def template_of(message: str) -> dict | None:
    """What a row's `..._message` field keeps next to the text (a job's error_message): the template
    and values, None for plain text."""
    return message.as_dict() if isinstance(message, Message) else None


# An absolute path: a slash that starts a word (not one inside "ER-NeRF/SyncTalk", "1/2" or a URL)
# and what follows it up to a space, a quote or a bracket.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"`()\[\]{}<>,;]+")
# Where users read the media folder's files: named from it, as the API's file paths are.
_MEDIA_NAME = "media"


def without_server_paths(message: Message | str) -> Message | str:
    """`message` as users may read it: paths in the media folder named from it ("media/results/..."),
    other absolute paths reduced to their last part ("…/model.pth"), so that no user learns where the
    server keeps its files; what the message says is kept, and so is its template."""
    return _each_text(message, _text_without_server_paths)


def _text_without_server_paths(text: str) -> str:
    text = re.sub(re.escape(str(settings.MEDIA_ROOT)) + r"(?=[/\s'\"`)\],;]|$)", _MEDIA_NAME, text)
    return _ABSOLUTE_PATH.sub(_last_part, text)


def _each_text(message: Message | str, rewrite) -> Message | str:
    """`message` with `rewrite(text)` applied to its plain text, or to each text among its values."""
    if isinstance(message, Message):
        return Message(message.template, **{name: _each_value(value, rewrite) for name, value in message.params.items()})
    return rewrite(str(message))


def _each_value(value, rewrite):
    if isinstance(value, list):
        return [_each_value(item, rewrite) for item in value]
    return _each_text(value, rewrite) if isinstance(value, str) else value


# What the other accounts read where a configured server's address was.
CONFIGURED_SERVER = gettext_noop("the configured server")
SERVER_PLACEHOLDER = "{server}"
# What they read where an API key was.
HIDDEN_KEY = "***"
# Shorter configured keys (a local server's "x") are left alone: replaced, they would cut up every word
# holding that letter, and a key that short guards nothing.
SHORTEST_HIDDEN_KEY = 8


def configured_server_urls() -> list[str]:
    """The addresses of the servers this studio is configured to call: CosyVoice, the LLM providers, Redis."""
    config = settings.ECHOFU
    urls = [config["COSYVOICE_URL"], *(server["base_url"] for server in config["LLM_PROVIDERS"].values()),
            settings.Q_CLUSTER.get("redis", "")]
    return [url for url in urls if isinstance(url, str) and url]


def _server_address_pattern() -> re.Pattern | None:
    """Each configured URL with whatever path follows it, then its host:port, then its host name alone."""
    whole, hosts = [], []
    for url in configured_server_urls():
        parts = urllib.parse.urlsplit(url)
        if parts.scheme and parts.netloc:
            whole.append(re.escape(f"{parts.scheme}://{parts.netloc}") + r"[^\s'\"`<>()\[\]{}]*(?<![.,:;])")
        hosts += [parts.netloc, parts.hostname or ""]
    # A one-word host name ("ollama", "cosyvoice": a compose file's service) is also the name of a
    # provider or engine the message is about; it is hidden only with its port or inside its URL.
    hosts = sorted({host for host in hosts if "." in host or ":" in host}, key=len, reverse=True)
    spelled = whole + [rf"(?<![\w.-]){re.escape(host)}(?![\w-]|\.\w)" for host in hosts]
    return re.compile("|".join(spelled)) if spelled else None


def _text_without_server_addresses(text: str) -> Message | str:
    for key in (server["api_key"] for server in settings.ECHOFU["LLM_PROVIDERS"].values()):
        if key and len(key) >= SHORTEST_HIDDEN_KEY:
            text = text.replace(key, HIDDEN_KEY)
    pattern = _server_address_pattern()
    pieces = pattern.split(text) if pattern else [text]
    if len(pieces) == 1:
        return text
    # The text becomes a template around the neutral phrase, so that the phrase is read in the reader's language.
    escaped = (piece.replace("{", "{{").replace("}", "}}") for piece in pieces)
    return Message(SERVER_PLACEHOLDER.join(escaped), server=CONFIGURED_SERVER)


def without_server_addresses(message: Message | str) -> Message | str:
    """`message` with each configured server's address read as "the configured server" and the LLM
    providers' API keys as "***": which hosts the studio calls, and with which keys, is the operator's."""
    return _each_text(message, _text_without_server_addresses)


def as_users_read(message: Message | str) -> Message | str:
    """`message` without the server's paths and addresses: as the accounts that do not run the server read it."""
    return without_server_addresses(without_server_paths(message))


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
        return LIST_SEPARATOR.join(str(_localized_value(item)) for item in value)
    if isinstance(value, dict):
        number = kept_value(value)
        return localized(value) if number is None else number
    return value


def localized_all(kept: list) -> list[str]:
    return [localized(message) for message in kept]


def localized_within(value):
    """A job's params or result (JSON) with the messages kept in it (`stored`: a training's warnings, a
    device note) in the active language; everything else as it is."""
    if isinstance(value, list):
        return [localized_within(item) for item in value]
    if not isinstance(value, dict):
        return value
    if value.keys() == {"template", "params"} and isinstance(value["template"], str) and isinstance(value["params"], dict):
        return localized(value)
    return {name: localized_within(item) for name, item in value.items()}


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
