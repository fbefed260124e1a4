"""Selection for one prospect at a time, on a library indexed once: the engine's front door."""

from __future__ import annotations

import datetime as dt
from functools import cache, lru_cache

import numpy as np
from threadpoolctl import ThreadpoolController

from engine.eligibility import COMPETITOR
from engine.embed import Embedder, Vectors
from engine.indexing import IndexedLibrary
from engine.learning import Engagement
from engine.needs import split_needs
from engine.prospect import Prospect
from engine.select import Query, Selection, Weights, select


class Selector:
    """Holds what every prospect shares (the indexed library, the model) and embeds each
    prospect's words on demand."""

    def __init__(
        self, indexed: IndexedLibrary, embedder: Embedder, weights: Weights | None = None
    ) -> None:
        self.indexed = indexed
        self.embedder = embedder
        self.weights = weights or Weights()

    def query(self, prospect: Prospect) -> Query:
        """One embedding call for the need statements, all short, so the batch pads little.
        The needs read as a whole are the normalised mean of the statements, as a block's
        vector is the mean of its passages."""
        needs = split_needs(prospect.needs)
        need_vectors = self.embedder.encode_queries(needs)
        whole = need_vectors.mean(axis=0) if needs else None
        whole_vector = whole / np.linalg.norm(whole) if whole is not None else None
        words = self._profile_words(prospect)
        profile = self._profile_vector(words) if words else None
        return Query(needs, need_vectors, whole_vector, profile)

    @lru_cache(maxsize=1024)  # noqa: B019 (one selector lives as long as its library)
    def _profile_vector(self, words: str) -> Vectors:
        """Profiles repeat (a few industries times a few personas): embed each once."""
        vector: Vectors = self.embedder.encode_queries([words])[0]
        return vector

    def select(
        self,
        prospect: Prospect,
        as_of: dt.date | None = None,
        engagement: Engagement | None = None,
    ) -> Selection:
        """The prospect's selection; with `engagement`, informed by how blocks were read."""
        query = self.query(prospect)
        # Selection's matrix products are small: one BLAS thread does them as fast, and idle
        # BLAS threads spinning beside the model's would slow the next query (measured 1.6x).
        with _threadpools().limit(limits=1, user_api="blas"):
            return select(
                self.indexed.library,
                self.indexed.table,
                prospect,
                query,
                as_of or dt.date.today(),
                self.weights,
                engagement,
            )

    def _profile_words(self, prospect: Prospect) -> str:
        """The prospect's facet values as words (industry, persona...): a weak topical signal
        for blocks whose text speaks to that world even when their tags are silent."""
        facets = [f for f in sorted(self.indexed.table.facets) if f != COMPETITOR]
        return ", ".join(v for f in facets for v in prospect.facet(f))


@cache
def _threadpools() -> ThreadpoolController:
    """Scanning the process for BLAS libraries costs ~1 ms: done at the first selection (once
    numpy and the model's runtime are loaded), not at every one."""
    return ThreadpoolController()
