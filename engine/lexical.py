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
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import snowballstemmer
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from engine.library import Block

# Letters and digits of any script, two or more: "électronique" stays whole.
_WORD = re.compile(r"[^\W_]{2,}")
# The pure-Python stemmer keeps its state on the object: threads selecting at once (the
# server selects in worker threads) would stem each other's words wrongly.
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Lexicon:
    """The library's vocabulary with its IDF weights, and every block as a unit TF-IDF row."""

    vectorizer: TfidfVectorizer
    # Sparse (terms x blocks), a posting list per term: a prospect's few words read only
    # their own rows (10x faster than multiplying by the blocks x terms matrix at 10k
    # blocks). None when the library has no word worth matching.
    postings: csr_matrix | None
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
        """Per statement and block: the cosine of their TF-IDF vectors, in [0, 1] (unit rows:
        a long block is not favoured for having more words)."""
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
        for word, stem in _words(statement):
            term = vocabulary.get(stem)
            if term is not None:
                first_form.setdefault(term, word)
        terms = [t for t in first_form if self.postings[t, block]]
        terms.sort(key=lambda t: -self.vectorizer.idf_[t])
        return tuple(first_form[t] for t in terms[:limit])


def words(text: str) -> list[str]:
    """The stems TF-IDF counts: stop words dropped, case ignored."""
    return [stem for _, stem in _words(text)]


def _words(text: str) -> Iterator[tuple[str, str]]:
    """Each word as written, with its stem. NFC first: an accent typed as a separate
    combining mark would otherwise cut the word in two."""
    for word in _WORD.findall(unicodedata.normalize("NFC", text)):
        lower = word.lower()
        if lower not in ENGLISH_STOP_WORDS:
            yield word, _stem(lower)


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A library repeats a few thousand words: each is stemmed once (the stemmer is Python)."""
    with _STEMMER_LOCK:
        stem: str = _STEMMER.stemWord(word)
    return stem
