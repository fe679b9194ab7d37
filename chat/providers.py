"""The chat model as configured in settings, loaded once per worker process (Whisper: echofu.loaded_models)."""
from __future__ import annotations

from django.conf import settings

from echofu import availability, loaded_models
from echofu.messages import localized
from engines.llm import PACKAGED, ChatModel, LocalModel, OpenAICompatible, packaged_availability
from engines.messages import Message, gettext_noop

LOCAL = "local"
FALLBACK = "fallback"  # no model at all: the knowledge base, else the persona's fallback reply


def provider_names() -> list[str]:
    return [LOCAL, FALLBACK, *settings.ECHOFU["LLM_PROVIDERS"]]


def resolve_provider(api_choice: str) -> tuple[str, Message | str]:
    """(provider, warning): the named provider, or the default one when it names none configured."""
    default = settings.ECHOFU["LLM_DEFAULT"]
    if not api_choice:
        return default, ""
    if api_choice in provider_names():
        return api_choice, ""
    return default, gettext_noop("api_choice '{choice}' is not configured (known: {known}); answered by '{default}'",
                                 choice=api_choice, known=", ".join(provider_names()), default=default)


def chat_model(provider: str) -> ChatModel | None:
    """The model answering for `provider`; None for the fallback provider."""
    config = settings.ECHOFU
    if provider == FALLBACK:
        return None
    if provider == LOCAL:
        name = config["LLM_LOCAL_MODEL"]
        return loaded_models.cached(("llm", LOCAL, name, config["MODEL_CACHE"]), [], lambda: LocalModel(config["MODEL_CACHE"], name))
    server = config["LLM_PROVIDERS"][provider]
    key = ("llm", provider, repr(sorted(server.items())), config["LLM_TIMEOUT_SECONDS"], config["LLM_RETRIES"])
    return loaded_models.cached(key, [], lambda: OpenAICompatible(
        provider, server["base_url"], server["model"], server["api_key"],
        timeout=config["LLM_TIMEOUT_SECONDS"], retries=config["LLM_RETRIES"],
    ))


def provider_availability(provider: str) -> tuple[bool, str]:
    """Whether `provider` can answer here, judged from its configuration (nothing is sent to it)."""
    config = settings.ECHOFU
    if provider == FALLBACK:
        return True, gettext_noop("answers from the knowledge base, else the persona's fallback reply")
    if provider == LOCAL:
        name = config["LLM_LOCAL_MODEL"]
        return availability.remembered(("llm", LOCAL, name), provider, lambda: packaged_availability(name))
    server = config["LLM_PROVIDERS"][provider]
    return OpenAICompatible.availability(provider, server["base_url"], server["model"], server["api_key"])


def provider_label(provider: str) -> Message | str:
    """What the chat page calls `provider`: the built-in ones by what they are, a configured server by its name."""
    if provider == LOCAL:
        return gettext_noop("offline model {name}", name=settings.ECHOFU["LLM_LOCAL_MODEL"])
    if provider == FALLBACK:
        return gettext_noop("no language model (knowledge base)")
    return provider


def provider_languages(provider: str) -> list[str] | None:
    """The languages `provider` answers in ("zh", "en"), where it answers only some: questions in others get the
    fallback reply; None where the model's languages are its operator's choice (a configured server)."""
    if provider != LOCAL:
        return None
    packaged = PACKAGED.get(settings.ECHOFU["LLM_LOCAL_MODEL"])  # an unknown name is unavailable, said elsewhere
    return None if packaged is None or packaged.languages is None else sorted(packaged.languages)


def all_provider_availability(request_or_user) -> list[dict]:
    """Each provider's row for the pages; `label`: its name as the chat page shows it, in the request's language;
    `languages`: provider_languages()."""
    default = settings.ECHOFU["LLM_DEFAULT"]
    return [{**availability.listing(name, provider_availability(name), request_or_user), "label": localized(provider_label(name)),
             "default": name == default, "languages": provider_languages(name)} for name in provider_names()]
