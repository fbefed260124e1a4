"""Selection for one prospect at a time, on a library indexed once: the engine's front door."""

from __future__ import annotations

import datetime as dt

from engine.eligibility import COMPETITOR
from engine.embed import Embedder
from engine.indexing import IndexedLibrary
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
        """One embedding call for the need statements and the profile words together."""
        needs = split_needs(prospect.needs)
        profile = self._profile_words(prospect)
        vectors = self.embedder.encode_queries([*needs, profile] if profile else list(needs))
        if profile:
            return Query(needs, vectors[:-1], vectors[-1])
        return Query(needs, vectors)

    def select(self, prospect: Prospect, as_of: dt.date | None = None) -> Selection:
        library = self.indexed.library
        return select(
            library,
            self.indexed.table,
            prospect,
            self.query(prospect),
            as_of or dt.date.today(),
            self.weights,
        )

    def _profile_words(self, prospect: Prospect) -> str:
        """The prospect's facet values as words (industry, persona...): a weak topical signal
        for blocks whose text speaks to that world even when their tags are silent."""
        facets = [f for f in self.indexed.library.facets() if f != COMPETITOR]
        return ", ".join(v for f in facets for v in prospect.facet(f))
