"""Approximate nearest-neighbour search for libraries too large to score every block.

Below the threshold the flat index is exact and fast enough (8 ms a query at 100k vectors);
above it, an HNSW graph (faiss IndexHNSWFlat, inner product on normalised vectors) answers a
query in a fraction of a millisecond at the price of recall, which bench/scale.py measures
against exact search. HNSW can add vectors but not remove them: an index holding a removed or
edited block is rebuilt (engine/index.py decides when).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from engine.embed import Vectors

Keys = NDArray[np.int64]
Mask = NDArray[np.bool_]

# Blocks at which a library's index becomes HNSW (PITCHMAP_HNSW_THRESHOLD).
DEFAULT_THRESHOLD = 50_000
NEIGHBOURS = 32  # M: graph links per vector
EF_CONSTRUCTION = 128
# Measured recall@10 0.995 against exact search at 100k blocks (bench/scale.py; target 0.95).
EF_SEARCH = 128
# Blocks retrieved per query vector before scoring: every slot's shortlist (SHORTLIST is 48)
# must come out of one search, and facet fit reorders what similarity found. Measured at 100k
# blocks (bench/scale.py, 7 slots): 256 keeps 56 % of the exact selection's sections, 1024
# 82 % (in 16 ms against 30 ms for exact scoring), 2048 87 % at over twice the time.
RETRIEVED = 1024


class HNSWIndex:
    """The VectorIndex protocol on an HNSW graph; `remove` is not offered (see rebuild)."""

    removes = False

    def __init__(self, dimension: int, index: Any = None) -> None:
        self.dimension = dimension
        if index is None:
            graph = faiss.IndexHNSWFlat(dimension, NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = EF_CONSTRUCTION
            index = faiss.IndexIDMap2(graph)
        searched: Any = faiss.downcast_index(index.index)
        searched.hnsw.efSearch = EF_SEARCH
        self._index = index

    @staticmethod
    def holds(index: Any) -> bool:
        """Whether a deserialized faiss index is one of ours (an id map over an HNSW graph)."""
        return isinstance(faiss.downcast_index(index.index), faiss.IndexHNSW)

    def add(self, keys: Keys, vectors: Vectors) -> None:
        if len(keys):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys)

    def remove(self, keys: Keys) -> None:
        if len(keys):
            raise ValueError("an HNSW index cannot remove vectors: rebuild it")

    def vectors(self, keys: Keys) -> Vectors:
        if not len(keys):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._index.reconstruct_batch(keys), dtype=np.float32)

    def search(
        self, queries: Vectors, k: int, among: Keys | None = None
    ) -> tuple[NDArray[np.float32], Keys]:
        """The k nearest per query; with `among`, only those keys can be returned."""
        params = None
        if among is not None:
            wanted = np.zeros(int(among.max()) + 1 if len(among) else 1, dtype=bool)
            wanted[among] = True
            bitmap = np.packbits(wanted, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(wanted), faiss.swig_ptr(bitmap))
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=selector, efSearch=max(EF_SEARCH, k)
            )
        found = np.ascontiguousarray(queries, dtype=np.float32)
        scores, keys = self._index.search(found, k, params=params)
        return scores, keys

    def serialize(self) -> NDArray[np.uint8]:
        return np.asarray(faiss.serialize_index(self._index), dtype=np.uint8)

    def __len__(self) -> int:
        return int(self._index.ntotal)


class Candidates:
    """The blocks worth scoring for one prospect: per slot, the eligible blocks nearest to any
    of the prospect's query vectors.

    Selection scores every block of a slot with one matrix product; at 100k blocks that read
    of the whole matrix is most of its time. Above the threshold it scores only these: one
    unfiltered search for all slots, and a search restricted to a slot's eligible blocks only
    for a slot the first search left short of a shortlist.
    """

    def __init__(
        self, index: HNSWIndex, keys: Keys, slot_rows: Mapping[str, NDArray[np.intp]]
    ) -> None:
        self._index = index
        self._keys = keys  # table row -> index key
        self._rows = np.full(int(keys.max()) + 1 if len(keys) else 0, -1, dtype=np.intp)
        self._rows[keys] = np.arange(len(keys))
        self._slot_rows = dict(slot_rows)

    def among(self, queries: Vectors, allowed: Mask, shortlist: int) -> Mask:
        """`allowed` narrowed to the retrieved blocks (unchanged when there is no query)."""
        if not len(queries):
            return allowed
        _, keys = self._index.search(queries, RETRIEVED)
        found = np.zeros_like(allowed)
        found[self._rows[keys[keys >= 0]]] = True
        found &= allowed
        for rows in self._slot_rows.values():
            eligible = rows[allowed[rows]]
            if len(eligible) <= shortlist:
                found[eligible] = True
            elif found[eligible].sum() < shortlist:
                _, near = self._index.search(queries, shortlist, among=self._keys[eligible])
                found[self._rows[near[near >= 0]]] = True
        return found
