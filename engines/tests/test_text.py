"""Text preparation for the voices: language runs, numbers in Chinese text, scripts no voice speaks."""
from __future__ import annotations

import pytest

from engines.text import (UnsupportedScript, chinese_integer, chinese_number, chinese_numerals, chunks, joined, sentences,
                          speakable_chunks, supported_script)


def runs(text: str) -> list[tuple[str, str]]:
    return [(piece.text, piece.language) for piece in chunks(text)]


@pytest.mark.parametrize("text, expected", [
    ("我有 100 个苹果", [("我有 一百 个苹果", "zh")]),
    ("共 3 次, 每次 20 分钟", [("共 三 次", "zh"), ("每次 二十 分钟", "zh")]),
    ("价格是 3.5 元", [("价格是 三点五 元", "zh")]),
    ("100 个", [("一百 个", "zh")]),
    ("我们 2024年 增长了 20%", [("我们 二零二四年 增长了 百分之二十", "zh")]),
])
def test_numbers_in_chinese_text_are_read_in_chinese_with_their_words(text, expected):
    assert runs(text) == expected


def test_numbers_stay_whole_and_with_their_english_words():
    assert runs("3.14159") == [("3.14159", "en")]
    assert runs("100 dollars") == [("100 dollars", "en")]
    assert [piece.sentence_end for piece in chunks("100 dollars")] == [True]
    assert runs("我有 100 dollars 现金") == [("我有", "zh"), ("100 dollars", "en"), ("现金", "zh")]
    assert runs("买 iPhone 15 手机") == [("买", "zh"), ("iPhone 15", "en"), ("手机", "zh")]


@pytest.mark.parametrize("value, words", [
    (0, "零"), (1, "一"), (10, "十"), (15, "十五"), (20, "二十"), (100, "一百"), (105, "一百零五"),
    (110, "一百一十"), (1010, "一千零一十"), (2000, "二千"), (10000, "一万"), (10005, "一万零五"),
    (100000, "十万"), (30000000, "三千万"), (100010000, "一亿零一万"), (1000000001, "十亿零一"),
    (123456789, "一亿二千三百四十五万六千七百八十九"), (10 ** 16, "一" + "零" * 16),
])
def test_chinese_integers(value, words):
    assert chinese_integer(value) == words


def test_chinese_numbers_and_numerals():
    assert chinese_number("3.5") == "三点五"
    assert chinese_number("3.14159") == "三点一四一五九"
    assert chinese_number("0.5") == "零点五"
    assert chinese_number("1,000.25") == "一千点二五"
    assert chinese_number("007") == "零零七"
    assert chinese_number("2024", year=True) == "二零二四"
    assert chinese_numerals("１２３个, 1,2,3") == "一百二十三个, 一,二,三"
    assert chinese_numerals("2000 元") == "二千 元"
    assert chinese_numerals("2 个苹果, 第2名, 2月, 2次, 12个") == "两 个苹果, 第二名, 二月, 两次, 十二个"


@pytest.mark.parametrize("text", ["こんにちは", "Привет мир", "안녕하세요", "①②③", "Hello Привет мир"])
def test_text_mostly_in_a_script_no_voice_speaks_is_refused(text):
    assert not supported_script(text)
    with pytest.raises(UnsupportedScript, match="only Chinese and English"):
        speakable_chunks(text)


@pytest.mark.parametrize("text", ["Hello world", "你好，世界", "我有 100 个苹果", "Café déjà vu", "ＡＢＣ 全角", "2024",
                                  "Say привет to Anna and her friends", "?!。，"])
def test_latin_chinese_and_a_few_others_are_let_through(text):
    assert supported_script(text)


def test_sentences_are_joined_with_a_space_except_chinese_into_chinese():
    assert joined(["Welcome to the studio.", "I can answer your questions!"]) == "Welcome to the studio. I can answer your questions!"
    assert joined(["你好。", "欢迎来到展览。"]) == "你好。欢迎来到展览。"
    assert joined(["你好。", "Welcome!", "再见。"]) == "你好。 Welcome! 再见。"


def test_an_unpunctuated_text_is_cut_between_words_and_never_inside_a_number():
    english = " ".join(["transcript"] * 60)  # a pasted ASR transcript: no punctuation at all
    assert all(piece.split() and set(piece.split()) == {"transcript"} for piece in sentences(english))
    chinese = "我" * 156 + "共有12345678人" + "了" * 50
    assert any("12345678" in piece for piece in sentences(chinese)), sentences(chinese)
    assert max(len(piece) for piece in sentences(chinese)) <= 160


def test_a_word_in_another_script_inside_speakable_text_is_left_unsaid():
    assert [piece.text for piece in chunks("Say привет to Anna. 你好 Мир!")] == ["Say to Anna.", "你好"]
