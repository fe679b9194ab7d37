"""Engine text (`engines.messages.Message`) kept on rows and shown in the reader's language.

A row keeps a message as `{"template", "params"}`, the template in English as the engine wrote
it; reading it translates the template with the active language's catalog and fills in the
values (a value kept the same way is translated too). Rows written before messages kept their
template hold plain text, shown as it stands.
"""
import logging

from django.utils import translation

from engines.messages import Message

logger = logging.getLogger(__name__)

# The language of the legacy contract's `message` texts, whatever the request's language.
CONTRACT_LANGUAGE = "zh-hans"


def stored(message: str) -> dict | str:
    """What a row keeps of `message`: its template and values, or plain text when it has none."""
    return message.as_dict() if isinstance(message, Message) else str(message)


def localized(kept: dict | str) -> str:
    """A kept message in the active language."""
    if not isinstance(kept, dict):
        return str(kept)
    template = kept["template"]
    params = {name: localized(value) if isinstance(value, dict) else value for name, value in kept.get("params", {}).items()}
    try:
        return translation.gettext(template).format(**params)
    except (KeyError, IndexError, ValueError):  # a translation that names a value the template lacks
        logger.warning("translation of %r does not fit its values; shown in English", template)
        return template.format(**params)


def localized_all(kept: list) -> list[str]:
    return [localized(message) for message in kept]


def in_contract_language(kept: dict | str) -> str:
    """A kept message in the Chinese the legacy contract's `message` texts are written in."""
    with translation.override(CONTRACT_LANGUAGE):
        return localized(kept)
