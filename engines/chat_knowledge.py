"""Matching a visitor's question against curated questions by text similarity, Chinese and English.

Chinese has no spaces, so Chinese text is compared by characters and character pairs; other text
by words and word pairs. Terms are weighted by how rare they are among the curated questions
(TF-IDF), so "where" or "的" count less than "restroom" or "洗手间", and the score is the cosine.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Iterable

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[a-z0-9]+(?:'[a-z]+)?")


def terms(text: str) -> Counter:
    text = unicodedata.normalize("NFKC", text).lower()
    tokens = TOKEN.findall(text)
    counts = Counter(tokens)
    counts.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
    return counts


@dataclass
class Match:
    key: Hashable
    score: float


class KnowledgeIndex:
    def __init__(self, questions: Iterable[tuple[Hashable, str]]):
        self.entries = [(key, terms(question)) for key, question in questions]
        documents = len(self.entries)
        frequency = Counter(term for _, counts in self.entries for term in counts)
        # Smoothed IDF: a term in every question still counts a little; an unseen term counts most.
        self.idf = {term: math.log((1 + documents) / (1 + seen)) + 1 for term, seen in frequency.items()}
        self.unseen_idf = math.log(1 + documents) + 1
        self.vectors = [(key, self._weigh(counts)) for key, counts in self.entries]

    def _weigh(self, counts: Counter) -> dict[str, float]:
        vector = {term: count * self.idf.get(term, self.unseen_idf) for term, count in counts.items()}
        norm = math.sqrt(sum(value * value for value in vector.values())) or 1.0
        return {term: value / norm for term, value in vector.items()}

    def best(self, question: str) -> Match | None:
        if not self.vectors:
            return None
        query = self._weigh(terms(question))
        scored = [Match(key, sum(weight * vector.get(term, 0.0) for term, weight in query.items()))
                  for key, vector in self.vectors]
        return max(scored, key=lambda match: match.score)
