"""Word overlap between a prospect's need statements and each block: the lexical half of a
hybrid score.

A small sentence model knows that "invoice" and "bill" are close, but it blurs the rare,
specific terms a need turns on ("tenant billing", "SOX", "idling") into their topic, and ranks
several blocks on one topic almost alike. TF-IDF over the library's own words is exact where
the model is vague: a block that uses the prospect's distinctive words, rare in the library,
stands out from its neighbours. Words are stemmed (Snowball, English) so "renewals" meets
"renewal" and "invoicing" meets "invoices"; English stop words carry nothing and are dropped.
Measured on the five labelled sets: bench/quality.py and README "Selection quality".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import snowballstemmer
from numpy.typing import NDArray
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from engine.library import Block

_WORD = re.compile(r"[a-z0-9]{2,}")
_STEMMER = snowballstemmer.stemmer("english")


@dataclass(frozen=True)
class Lexicon:
    """The library's vocabulary with its IDF weights, and every block as a unit TF-IDF row."""

    vectorizer: Any
    # Sparse (terms x blocks), a posting list per term: a prospect's few words read only
    # their own rows (10x faster than multiplying by the blocks x terms matrix at 10k
    # blocks). None when the library has no word worth matching.
    postings: Any
    blocks: int

    @classmethod
    def build(cls, blocks: Sequence[Block]) -> Lexicon:
        """A block's words are its passages' (placeholders read as their variable's name)."""
        vectorizer = TfidfVectorizer(
            tokenizer=words, lowercase=False, token_pattern=None, sublinear_tf=True
        )
        try:
            matrix = vectorizer.fit_transform(["\n".join(b.passages) for b in blocks])
        except ValueError:  # no block has a single word outside the stop list
            return cls(vectorizer, None, len(blocks))
        return cls(vectorizer, matrix.T.tocsr().astype(np.float32), len(blocks))

    def similarity(self, statements: Sequence[str]) -> NDArray[np.float32]:
        """Per statement and block: the cosine of their TF-IDF vectors, in [0, 1]."""
        if self.postings is None or not statements:
            return np.zeros((len(statements), self.blocks), dtype=np.float32)
        queries = self.vectorizer.transform(list(statements)).astype(np.float32)
        return np.asarray((queries @ self.postings).toarray(), dtype=np.float32)

    def shared_words(self, statement: str, block: int, limit: int = 3) -> tuple[str, ...]:
        """The statement's words, as the prospect wrote them, that the block uses too: the
        rarest in the library first, as they are the ones that told the block apart."""
        if self.postings is None:
            return ()
        vocabulary = self.vectorizer.vocabulary_
        first_form: dict[int, str] = {}
        for word in _WORD.findall(statement.lower()):
            term = vocabulary.get(_stem(word)) if word not in ENGLISH_STOP_WORDS else None
            if term is not None:
                first_form.setdefault(term, word)
        terms = [t for t in first_form if self.postings[t, block]]
        terms.sort(key=lambda t: -self.vectorizer.idf_[t])
        return tuple(first_form[t] for t in terms[:limit])


def words(text: str) -> list[str]:
    """Lower-cased, stop words dropped, each word reduced to its stem."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A library repeats a few thousand words: each is stemmed once (the stemmer is Python)."""
    stem: str = _STEMMER.stemWord(word)
    return stem
