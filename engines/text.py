"""Splitting text to speak into sentence-sized chunks, each in one language."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from engines.messages import UnusableInput, gettext_noop

SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)\s+|\n+")
CLAUSE_BREAK = re.compile(r"(?<=[，、,：:])")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# Runs of Chinese (with its punctuation) versus everything else. Digits are in neither class of their
# own: they stay with the run around them ("100 dollars", "3.14159"), and a run of nothing but a number
# is given to the Chinese beside it afterwards (NUMBER_ONLY), so "我有 100 个苹果" is one Chinese chunk.
LANGUAGE_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，。！？；、：“”‘’（）]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，。！？；、：“”‘’（）]+")
# A run that is only a number (with its separators, sign, percent and the spaces around it), or only
# spaces (between two Chinese words, where a pause would cut the phrase).
NUMBER_ONLY = re.compile(r"\s*(?:[-+]?\d[\d.,:%％/\s]*)?")
# Numbers in Chinese text, read as Chinese numerals: 1,000 / 3.5 / 20% / 2024年.
CHINESE_NUMBER = re.compile(r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<percent>\s*[%％])?")
CHINESE_DIGITS = "零一二三四五六七八九"
COUNTED_WITH_LIANG = "个位次天条只件本张台辆种岁年周份家名项篇首点分小"  # measure words after which 2 is 两
CHINESE_GROUPS = ("", "万", "亿", "万亿")  # each four digits further left
MAX_CHUNK = 160


@dataclass
class Chunk:
    text: str
    language: str  # "zh" or "en"
    sentence_end: bool  # a longer pause follows


LANGUAGE_NAMES = {"zh": gettext_noop("Chinese"), "en": gettext_noop("English")}  # by what language_of() says


def language_of(text: str) -> str:
    return "zh" if len(CJK.findall(text)) >= len(LATIN.findall(text)) / 3 and CJK.search(text) else "en"


def sentences(text: str, max_chars: int = MAX_CHUNK) -> list[str]:
    """Sentences, with ones over `max_chars` cut at clause breaks (and hard-cut as a last resort)."""
    pieces = []
    for sentence in filter(None, (part.strip() for part in SENTENCE_END.split(text))):
        if len(sentence) <= max_chars:
            pieces.append(sentence)
            continue
        current = ""
        for clause in CLAUSE_BREAK.split(sentence):
            if current and len(current) + len(clause) > max_chars:
                pieces.append(current.strip())
                current = ""
            current += clause
        while len(current) > max_chars:
            cut = _hard_cut(current, max_chars)
            pieces.append(current[:cut].strip())
            current = current[cut:]
        if current.strip():
            pieces.append(current.strip())
    return pieces


def _hard_cut(text: str, max_chars: int) -> int:
    """Where to cut a clause longer than `max_chars`: at its last space, else between two Chinese
    characters, never inside a word or a number (共有12345678人 cut in its number was read as two)."""
    space = text.rfind(" ", 1, max_chars + 1)
    if space > max_chars // 2:
        return space
    for cut in range(max_chars, max_chars // 2, -1):
        if CJK.match(text[cut - 1]) and CJK.match(text[cut]):
            return cut
    return max_chars


def _chinese_below_10000(value: int) -> str:
    """1..9999 in Chinese numerals, a single 零 standing for any inner zeros (1010 -> 一千零一十)."""
    words, gap = "", False
    for place, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = value // place % 10
        if digit == 0:
            gap = bool(words)
            continue
        words += ("零" if gap else "") + CHINESE_DIGITS[digit] + unit
        gap = False
    return words


def chinese_integer(value: int) -> str:
    """A whole number as it is read in Mandarin: 20 -> 二十, 105 -> 一百零五, 100010000 -> 一亿零一万.
    Numbers past 万亿 are read digit by digit, as long ids and card numbers are."""
    if value == 0:
        return "零"
    if value >= 10 ** (4 * len(CHINESE_GROUPS)):
        return "".join(CHINESE_DIGITS[int(digit)] for digit in str(value))
    groups = []
    while value:
        value, group = divmod(value, 10000)
        groups.append(group)
    words, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = bool(words)
            continue
        # a zero group between, or a group under 1000 after a higher one, is read with 零 (一万零五)
        words += ("零" if words and (gap or group < 1000) else "") + _chinese_below_10000(group) + CHINESE_GROUPS[index]
        gap = False
    # 10-19 at the very start are said 十..., not 一十... (十万, 十五)
    return words[1:] if words.startswith("一十") else words


def chinese_number(text: str, year: bool = False) -> str:
    """One written number ("1,000", "3.14159", "007") in Chinese numerals. Digits after the point, years
    (2024年 -> 二零二四年) and numbers written with leading zeros are read digit by digit."""
    whole, _, fraction = text.replace(",", "").partition(".")
    by_digit = lambda digits: "".join(CHINESE_DIGITS[int(digit)] for digit in digits)
    if year or (len(whole) > 1 and whole.startswith("0")):
        words = by_digit(whole)
    else:
        words = chinese_integer(int(whole))
    return words + ("点" + by_digit(fraction) if fraction else "")


def chinese_numerals(text: str) -> str:
    """`text` with its Arabic numbers written as Chinese numerals, for a Chinese voice. espeak-ng's
    Mandarin reads whole numbers but drops the decimal point (3.5 comes out as 三五) and reads years
    as amounts (2024年 as 两千二十四年); written out, every Chinese voice says the same words."""
    def replace(match: re.Match) -> str:
        following = match.string[match.end():].lstrip()[:1]
        ordinal = match.string[:match.start()].rstrip().endswith("第")
        if match["number"] == "2" and not match["percent"] and not ordinal and following and following in COUNTED_WITH_LIANG:
            return "两"  # 两个, 两次: 二 names the digit (and 第二 the second), 两 counts two things
        year = len(match["number"]) == 4 and following == "年"
        number = chinese_number(match["number"], year=year)
        return "百分之" + number if match["percent"] else number

    return CHINESE_NUMBER.sub(replace, text)


def language_runs(sentence: str) -> list[tuple[str, str]]:
    """(text, language) runs of one sentence. A run that is only a number goes with the Chinese beside it,
    so a number in Chinese text is read in Chinese, in the same breath as its words (no pause, no
    English "one hundred"). A number with no Chinese beside it is left to language_of (English)."""
    merged: list[list[str]] = []  # [text, kind]: kind "zh", "number" or "other"
    for match in LANGUAGE_RUNS.finditer(sentence):
        run = match.group()
        kind = "zh" if CJK.search(run) else "number" if NUMBER_ONLY.fullmatch(run) else "other"
        # the two kinds of run alternate, so a number only ever meets Chinese (or the sentence's ends)
        if merged and {kind, merged[-1][1]} in ({"zh"}, {"zh", "number"}):
            merged[-1] = [merged[-1][0] + run, "zh"]
        else:
            merged.append([run, kind])
    result = []
    for text, kind in merged:
        if kind != "zh":  # a word in another script (a name in Cyrillic) would be spelled out letter by letter
            text = " ".join(word for word in text.split() if unsupported_share(word) <= 0.5)
        text = text.strip()
        if text and re.search(r"\w", text):
            result.append((chinese_numerals(text), "zh") if kind == "zh" else (text, language_of(text)))
    return result


CHINESE_CLOSE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，。！？；、：“”‘’（）]")


def joined(sentences: list[str]) -> str:
    """Sentences as one text: Chinese runs on into Chinese, any other meeting takes a space (an English
    reply to a Chinese question was glued into 'studio.I can')."""
    text = ""
    for sentence in sentences:
        runs_on = text and CHINESE_CLOSE.match(text[-1]) and CHINESE_CLOSE.match(sentence[:1])
        text += sentence if not text or runs_on else " " + sentence
    return text


class NothingToSpeak(UnusableInput):
    """The text holds no words a voice could say: only punctuation, symbols or space."""


class UnsupportedScript(NothingToSpeak):
    """The text is mostly in a script no voice here speaks (Japanese kana, Hangul, Cyrillic, circled
    numbers ...): espeak-ng's English would spell it letter by letter ("Japanese letter") or skip it."""


def unsupported_share(text: str) -> float:
    """The share of `text`'s letters and digits that are neither Latin, CJK ideographs nor 0-9."""
    letters = [char for char in text if char.isalnum()]
    if not letters:
        return 0.0
    foreign = [char for char in letters if not (CJK.match(char) or char in "0123456789０１２３４５６７８９"
                                                or unicodedata.name(char, "").startswith(("LATIN ", "FULLWIDTH LATIN ")))]
    return len(foreign) / len(letters)


def supported_script(text: str) -> bool:
    """Whether the voices can say `text`: most of its letters are Latin or Chinese. A few others (a name,
    a Greek letter) are let through, as in mixed text they do little harm."""
    return unsupported_share(text) <= 0.5


def chunks(text: str) -> list[Chunk]:
    """Sentence chunks split further where the language changes (mixed Chinese/English text)."""
    result = []
    for sentence in sentences(text):
        runs = language_runs(sentence)
        for position, (run, language) in enumerate(runs):
            result.append(Chunk(run, language, sentence_end=position == len(runs) - 1))
    return result


def speakable_chunks(text: str) -> list[Chunk]:
    """The chunks of `text`, refusing text with none; forms call it too, so a request that
    could never be spoken is refused before any job starts."""
    if not supported_script(text):
        raise UnsupportedScript("the text is mostly in a script the voices do not speak (only Chinese and English)")
    pieces = chunks(text)
    if not pieces:
        raise NothingToSpeak("the text has nothing to speak")
    return pieces
