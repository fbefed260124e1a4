"""The vector index of a library's blocks, persisted and brought up to date incrementally.

A block keeps its index entry while what it says is unchanged; an edited block's entry is
replaced and a deleted block's removed, so re-indexing touches only what changed. faiss is
imported here and in engine/hnsw.py only. From `hnsw_threshold` blocks on, the index is an
HNSW graph instead of exact search; a graph cannot remove vectors, so a removed or edited
block (or crossing the threshold either way) rebuilds the index from the vectors it holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import faiss
import numpy as np
from numpy.typing import NDArray

from engine.embed import Vectors
from engine.files import write_atomic
from engine.hnsw import DEFAULT_THRESHOLD, Candidates, HNSWIndex
from engine.library import Block

Keys = NDArray[np.int64]


class VectorIndex(Protocol):
    """What the engine needs of a vector store: exact vectors back, and nearest neighbours."""

    removes: bool

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

    removes = True

    def __init__(self, dimension: int, index: Any = None) -> None:
        self.dimension = dimension
        self._index = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
        )

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
    """What one index update did: entries (re)written for new or edited blocks, dropped, and
    whether the whole index was rebuilt (HNSW on any removal, or a change of kind)."""

    written: int
    removed: int
    rebuilt: bool = False


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
                stored = faiss.deserialize_index(data["faiss"])
        except (OSError, ValueError, KeyError, RuntimeError):
            return cls(dimension)
        kind = HNSWIndex if HNSWIndex.holds(stored) else FlatIndex
        vectors: VectorIndex = kind(stored.d, stored)
        if stored.d != dimension or len(vectors) != len(meta["entries"]):
            return cls(dimension)
        index = cls(dimension, vectors)
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
        self,
        blocks: Sequence[Block],
        vectors_for: Callable[[list[Block]], Vectors],
        hnsw_threshold: int = DEFAULT_THRESHOLD,
    ) -> SyncReport:
        """Make the index hold exactly `blocks`, asking `vectors_for` only for stale ones."""
        wanted = {b.id for b in blocks}
        stale = self.stale(blocks)
        gone = [bid for bid in self._entries if bid not in wanted]
        replaced = [b.id for b in stale if b.id in self._entries]
        kind = HNSWIndex if len(blocks) >= hnsw_threshold else FlatIndex
        rebuild = not isinstance(self._index, kind) or (
            not self._index.removes and bool(gone or replaced)
        )
        old_keys = [self._entries.pop(bid).key for bid in gone + replaced]
        if rebuild:
            self._rebuild(kind)
        else:
            self._index.remove(np.array(old_keys, dtype=np.int64))
        if stale:
            self._append([b.id for b in stale], [b.text_hash for b in stale], vectors_for(stale))
        return SyncReport(written=len(stale), removed=len(gone), rebuilt=rebuild)

    def _rebuild(self, kind: type[FlatIndex] | type[HNSWIndex]) -> None:
        """A new index of `kind` holding the current entries' vectors, under fresh keys."""
        kept = sorted(self._entries)
        vectors = self.vectors(kept)
        hashes = [self._entries[bid].text_hash for bid in kept]
        self._index, self._entries, self._next_key = kind(self.dimension), {}, 0
        self._append(kept, hashes, vectors)

    def _append(self, block_ids: list[str], hashes: list[str], vectors: Vectors) -> None:
        keys = np.arange(self._next_key, self._next_key + len(block_ids), dtype=np.int64)
        self._index.add(keys, vectors)
        for block_id, text_hash, key in zip(block_ids, hashes, keys.tolist(), strict=True):
            self._entries[block_id] = Entry(key, text_hash)
        self._next_key += len(block_ids)

    def candidates(
        self, block_ids: Sequence[str], slot_rows: Mapping[str, NDArray[np.intp]]
    ) -> Candidates | None:
        """Retrieval of table rows (blocks in `block_ids` order) for selection; None while the
        index is exact, where selection scores every block."""
        if not isinstance(self._index, HNSWIndex):
            return None
        keys = np.array([self._entries[bid].key for bid in block_ids], dtype=np.int64)
        return Candidates(self._index, keys, slot_rows)

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
