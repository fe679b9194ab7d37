"""Splitting text to speak into sentence-sized chunks, each in one language."""
from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=\.)\s+|\n+")
CLAUSE_BREAK = re.compile(r"(?<=[，、,：:])")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
# Runs of Chinese (with its punctuation and digits) versus everything else.
LANGUAGE_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，。！？；、：“”‘’（）0-9]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff，。！？；、：“”‘’（）]+")
MAX_CHUNK = 160


@dataclass
class Chunk:
    text: str
    language: str  # "zh" or "en"
    sentence_end: bool  # a longer pause follows


def language_of(text: str) -> str:
    return "zh" if len(CJK.findall(text)) >= len(LATIN.findall(text)) / 3 and CJK.search(text) else "en"


def sentences(text: str) -> list[str]:
    """Sentences, with over-long ones cut at clause breaks (and hard-cut as a last resort)."""
    pieces = []
    for sentence in filter(None, (part.strip() for part in SENTENCE_END.split(text))):
        if len(sentence) <= MAX_CHUNK:
            pieces.append(sentence)
            continue
        current = ""
        for clause in CLAUSE_BREAK.split(sentence):
            if current and len(current) + len(clause) > MAX_CHUNK:
                pieces.append(current.strip())
                current = ""
            current += clause
        while len(current) > MAX_CHUNK:
            pieces.append(current[:MAX_CHUNK])
            current = current[MAX_CHUNK:]
        if current.strip():
            pieces.append(current.strip())
    return pieces


class NothingToSpeak(ValueError):
    """The text holds no words a voice could say: only punctuation, symbols or space."""


def chunks(text: str) -> list[Chunk]:
    """Sentence chunks split further where the language changes (mixed Chinese/English text)."""
    result = []
    for sentence in sentences(text):
        runs = [run.strip() for run in LANGUAGE_RUNS.findall(sentence) if run.strip() and re.search(r"\w", run)]
        for position, run in enumerate(runs):
            result.append(Chunk(run, language_of(run), sentence_end=position == len(runs) - 1))
    return result


def speakable_chunks(text: str) -> list[Chunk]:
    """The chunks of `text`, refusing text with none; forms call it too, so a request that
    could never be spoken is refused before any job starts."""
    pieces = chunks(text)
    if not pieces:
        raise NothingToSpeak("the text has nothing to speak")
    return pieces
