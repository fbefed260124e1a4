"""A library's blocks laid out as columns, so each prospect is scored with array operations.

Selection on a 10,000-block library has a 30 ms budget, most of it the query embedding;
a Python loop over blocks per prospect would spend it all. The columns are built once per
library and shared by every prospect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.embed import Vectors
from engine.library import Block

Mask = NDArray[np.bool_]
_NEVER = dt.date.max.toordinal()


@dataclass(frozen=True)
class FacetColumn:
    """For one facet: which blocks name it at all, and which name each value."""

    present: Mask
    values: dict[str, Mask]

    def naming(self, values: Sequence[str]) -> Mask:
        """Blocks whose facet names at least one of these values."""
        mask = np.zeros_like(self.present)
        for value in values:
            if value in self.values:
                mask |= self.values[value]
        return mask


@dataclass(frozen=True)
class BlockTable:
    blocks: tuple[Block, ...]
    slots: NDArray[np.str_]
    approved: Mask
    expires: NDArray[np.int64]
    facets: dict[str, FacetColumn]
    vectors: Vectors
    # All blocks' passage vectors stacked in block order; block i owns the rows from
    # passage_starts[i] to the next start (the layout np.maximum.reduceat works on).
    passages: Vectors
    passage_starts: NDArray[np.intp]

    @classmethod
    def build(
        cls, blocks: Sequence[Block], vectors: Vectors, passages: Sequence[Vectors] | None = None
    ) -> BlockTable:
        """Columns for these blocks; without passage vectors each block is its own passage."""
        n = len(blocks)
        facets: dict[str, FacetColumn] = {}
        for i, block in enumerate(blocks):
            for facet, values in block.tags.items():
                column = facets.setdefault(facet, FacetColumn(np.zeros(n, dtype=bool), {}))
                column.present[i] = bool(values)
                for value in values:
                    column.values.setdefault(value, np.zeros(n, dtype=bool))[i] = True
        return cls(
            blocks=tuple(blocks),
            slots=np.array([b.slot for b in blocks], dtype=np.str_),
            approved=np.array([b.status == "approved" for b in blocks], dtype=bool),
            expires=np.array(
                [b.expires.toordinal() if b.expires else _NEVER for b in blocks], dtype=np.int64
            ),
            facets=facets,
            vectors=vectors,
            passages=np.concatenate(passages) if passages else vectors,
            passage_starts=np.cumsum([0] + [len(p) for p in passages[:-1]]).astype(np.intp)
            if passages
            else np.arange(n, dtype=np.intp),
        )

    def __len__(self) -> int:
        return len(self.blocks)

    def best_passage(self, queries: Vectors) -> Vectors:
        """Per query and block: the similarity of the block's passage closest to the query."""
        if not len(self):
            return np.zeros((len(queries), 0), dtype=np.float32)
        similarity = queries @ self.passages.T
        return np.maximum.reduceat(similarity, self.passage_starts, axis=1)

    def facet(self, name: str) -> FacetColumn:
        """The column of a facet; one no block uses is absent everywhere."""
        empty = np.zeros(len(self), dtype=bool)
        return self.facets.get(name, FacetColumn(empty, {}))
