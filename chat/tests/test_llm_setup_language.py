"""Why a chat model cannot be set up (no base URL, a packaged model missing or damaged) and what the
local model is: said in the reader's language, as the LLM's other failures are."""
import pytest
from django.utils import translation

from echofu import availability
from echofu.messages import CONTRACT_LANGUAGE, localized, reason_of
from engines import llm
from engines.llm import LLMError, OpenAICompatible, PackagedGGUF

pytestmark = pytest.mark.django_db


def read_in(language: str, exc: BaseException) -> str:
    with translation.override(language):
        return localized(reason_of(exc))


def test_a_provider_without_a_base_url_is_refused_in_chinese_and_english():
    with pytest.raises(LLMError) as refused:
        OpenAICompatible("glm", "", "glm-4-flash")
    assert read_in("en", refused.value) == ("provider glm needs a base URL and a model name "
                                            "(set ECHOFU_LLM_GLM_BASE_URL and ECHOFU_LLM_GLM_MODEL)")
    assert read_in(CONTRACT_LANGUAGE, refused.value).startswith("提供方 glm 需要")


def test_a_packaged_model_that_is_missing_or_damaged_is_named_in_chinese(tmp_path, monkeypatch):
    with pytest.raises(LLMError) as unknown:
        llm.checked_gguf(tmp_path, "nonesuch")
    assert read_in(CONTRACT_LANGUAGE, unknown.value).startswith("没有打包的模型 nonesuch")
    damaged = PackagedGGUF(name="damaged", parts=(("engines", "messages.py"),), sha256="0" * 64, requirement="x==1")
    monkeypatch.setitem(llm.PACKAGED, "damaged", damaged)
    with pytest.raises(LLMError) as mismatch:
        llm.checked_gguf(tmp_path, "damaged")
    assert read_in("en", mismatch.value).startswith("damaged: the GGUF file has sha256 ")
    assert read_in(CONTRACT_LANGUAGE, mismatch.value).startswith("damaged: GGUF 文件的 sha256 为 ")
    part_missing = PackagedGGUF(name="part-missing", parts=(("engines", "no_such_file.gguf"),), sha256="0" * 64, requirement="x==1")
    monkeypatch.setitem(llm.PACKAGED, "part-missing", part_missing)
    with pytest.raises(LLMError) as missing:
        llm.checked_gguf(tmp_path, "part-missing")
    assert read_in(CONTRACT_LANGUAGE, missing.value) == "已安装的软件包 engines 中缺少 no_such_file.gguf"


@pytest.mark.parametrize("language, reason", [("zh-hans", "离线模型 {name}, 由 llama.cpp 运行"),
                                              ("en", "offline model {name}, run by llama.cpp")])
def test_the_local_models_note_is_in_the_pages_language(client, settings, monkeypatch, language, reason):
    availability.forget()
    monkeypatch.setattr(llm.importlib.util, "find_spec", lambda name: object())  # as if llama.cpp and the model were installed
    client.cookies["django_language"] = language
    local = next(row for row in client.get("/api/engines").json()["chat_providers"] if row["name"] == "local")
    assert local["reason"] == reason.format(name=settings.ECHOFU["LLM_LOCAL_MODEL"])


@pytest.mark.parametrize("model, languages", [("smollm2-135m", ["en"]), ("gemma3-270m", None), ("no-such-model", None)])
def test_the_engines_list_says_which_languages_the_local_model_answers_in(client, settings, model, languages):
    settings.ECHOFU = {**settings.ECHOFU, "LLM_LOCAL_MODEL": model}
    rows = {row["name"]: row for row in client.get("/api/engines").json()["chat_providers"]}
    assert rows["local"]["languages"] == languages
    assert rows["fallback"]["languages"] is None
