"""The vector index of a library's blocks, persisted and brought up to date incrementally.

A block keeps its index entry while what it says is unchanged; an edited block's entry is
replaced and a deleted block's removed, so re-indexing touches only what changed. faiss is
imported here and nowhere else, so swapping the backend (flat today, HNSW at scale) touches
one file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import faiss
import numpy as np
from numpy.typing import NDArray

from engine.embed import Vectors
from engine.files import write_atomic
from engine.library import Block

Keys = NDArray[np.int64]


class VectorIndex(Protocol):
    """What the engine needs of a vector store: exact vectors back, and nearest neighbours."""

    def add(self, keys: Keys, vectors: Vectors) -> None: ...
    def remove(self, keys: Keys) -> None: ...
    def vectors(self, keys: Keys) -> Vectors: ...
    def search(self, queries: Vectors, k: int) -> tuple[NDArray[np.float32], Keys]: ...
    def serialize(self) -> NDArray[np.uint8]: ...
    def __len__(self) -> int: ...


class FlatIndex:
    """Exact inner-product search; on normalised vectors that is cosine similarity.

    Flat is exact and measured fast enough to ~100k vectors (8 ms a query), which covers
    any real content library.
    """

    def __init__(self, dimension: int, index: Any = None) -> None:
        self.dimension = dimension
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )

    @classmethod
    def deserialize(cls, data: NDArray[np.uint8]) -> FlatIndex:
        index = faiss.deserialize_index(data)
        return cls(index.d, index)

    def add(self, keys: Keys, vectors: Vectors) -> None:
        if len(keys):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys)

    def remove(self, keys: Keys) -> None:
        if len(keys):
            self._index.remove_ids(np.asarray(keys, dtype=np.int64))  # type: ignore[arg-type]

    def vectors(self, keys: Keys) -> Vectors:
        if not len(keys):
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._index.reconstruct_batch(keys), dtype=np.float32)

    def search(self, queries: Vectors, k: int) -> tuple[NDArray[np.float32], Keys]:
        scores, keys = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, keys

    def serialize(self) -> NDArray[np.uint8]:
        return np.asarray(faiss.serialize_index(self._index), dtype=np.uint8)

    def __len__(self) -> int:
        return int(self._index.ntotal)


@dataclass(frozen=True)
class Entry:
    key: int
    text_hash: str


class SyncReport(NamedTuple):
    """What one index update did: entries (re)written for new or edited blocks, and dropped."""

    written: int
    removed: int


class BlockIndex:
    """A library's block vectors by block id, with the id map persisted beside the faiss file."""

    FILE = "index.npz"

    def __init__(self, dimension: int, index: VectorIndex | None = None) -> None:
        self.dimension = dimension
        self._index: VectorIndex = index if index is not None else FlatIndex(dimension)
        self._entries: dict[str, Entry] = {}
        self._next_key = 0

    @classmethod
    def load(cls, folder: Path, dimension: int) -> BlockIndex:
        """The index saved in `folder`, or an empty one if there is none or it does not fit."""
        try:
            with np.load(folder / cls.FILE) as data:
                meta = json.loads(str(data["meta"]))
                flat = FlatIndex.deserialize(data["faiss"])
        except (OSError, ValueError, KeyError, RuntimeError):
            return cls(dimension)
        if flat.dimension != dimension or len(flat) != len(meta["entries"]):
            return cls(dimension)
        index = cls(dimension, flat)
        index._entries = {bid: Entry(e[0], e[1]) for bid, e in meta["entries"].items()}
        index._next_key = int(meta["next_key"])
        return index

    def save(self, folder: Path) -> None:
        """One file, written aside and renamed into place: readers never see half an update."""
        meta = {
            "next_key": self._next_key,
            "entries": {bid: [e.key, e.text_hash] for bid, e in sorted(self._entries.items())},
        }
        write_atomic(
            folder / self.FILE,
            lambda file: np.savez(
                file, faiss=self._index.serialize(), meta=np.array(json.dumps(meta))
            ),
        )

    def __len__(self) -> int:
        return len(self._entries)

    def stale(self, blocks: Sequence[Block]) -> list[Block]:
        """Blocks that are new or whose text changed since they were indexed."""
        return [
            b
            for b in blocks
            if (e := self._entries.get(b.id)) is None or e.text_hash != b.text_hash
        ]

    def sync(
        self, blocks: Sequence[Block], vectors_for: Callable[[list[Block]], Vectors]
    ) -> SyncReport:
        """Make the index hold exactly `blocks`, asking `vectors_for` only for stale ones."""
        wanted = {b.id for b in blocks}
        stale = self.stale(blocks)
        gone = [bid for bid in self._entries if bid not in wanted]
        replaced = [b.id for b in stale if b.id in self._entries]
        old_keys = [self._entries.pop(bid).key for bid in gone + replaced]
        self._index.remove(np.array(old_keys, dtype=np.int64))
        if stale:
            keys = np.arange(self._next_key, self._next_key + len(stale), dtype=np.int64)
            self._index.add(keys, vectors_for(stale))
            for block, key in zip(stale, keys.tolist(), strict=True):
                self._entries[block.id] = Entry(key, block.text_hash)
            self._next_key += len(stale)
        return SyncReport(written=len(stale), removed=len(gone))

    def vectors(self, block_ids: Sequence[str]) -> Vectors:
        """The vectors of these blocks, in this order (every id must be indexed)."""
        keys = np.array([self._entries[bid].key for bid in block_ids], dtype=np.int64)
        return self._index.vectors(keys)

    def search(self, query: Vectors, k: int) -> list[tuple[str, float]]:
        """The k blocks nearest to one query vector, best first."""
        by_key = {e.key: bid for bid, e in self._entries.items()}
        scores, keys = self._index.search(query.reshape(1, -1), min(k, len(self)))
        pairs = zip(scores[0].tolist(), keys[0].tolist(), strict=True)
        return [(by_key[key], score) for score, key in pairs if key >= 0]
