"""Bringing a library's vectors up to date: cached embeddings first, the model only for new text."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.embed import Embedder, EmbeddingCache, Progress, Vectors
from engine.index import BlockIndex
from engine.library import Block, Library
from engine.table import BlockTable


@dataclass(frozen=True)
class IndexReport:
    """What an index run did; `embedded` is how many texts the model had to encode."""

    blocks: int
    embedded: int
    written: int
    removed: int


@dataclass(frozen=True)
class IndexedLibrary:
    """A library with a vector for every block, laid out for selection."""

    library: Library
    table: BlockTable
    report: IndexReport


def index_library(
    library: Library, embedder: Embedder, data_dir: Path, on_progress: Progress | None = None
) -> IndexedLibrary:
    """Embed what the cache lacks, update the persisted index, and return the library's table."""
    cache = EmbeddingCache(data_dir / "embeddings", embedder.key)
    folder = data_dir / "index" / f"{_library_key(library)}-{embedder.key}"
    index = BlockIndex.load(folder, embedder.dimension)
    missing = _missing(index.stale(library.blocks), cache)
    if missing:
        texts = [b.embedding_text for b in missing]
        cache.put([b.text_hash for b in missing], embedder.encode(texts, on_progress))
        cache.save()
    synced = index.sync(library.blocks, lambda blocks: _from_cache(cache, blocks))
    if synced.written or synced.removed:
        index.save(folder)
    table = BlockTable.build(library.blocks, index.vectors([b.id for b in library.blocks]))
    report = IndexReport(len(library.blocks), len(missing), synced.written, synced.removed)
    return IndexedLibrary(library, table, report)


def _library_key(library: Library) -> str:
    """One index per library folder: two libraries in one data folder never share entries."""
    return hashlib.sha256(str(library.root.resolve()).encode()).hexdigest()[:12]


def _missing(stale: list[Block], cache: EmbeddingCache) -> list[Block]:
    """Stale blocks whose text the cache has never seen, each distinct text once."""
    texts: dict[str, Block] = {}
    for block in stale:
        if block.text_hash not in cache:
            texts.setdefault(block.text_hash, block)
    return list(texts.values())


def _from_cache(cache: EmbeddingCache, blocks: list[Block]) -> Vectors:
    return np.stack([cache.get(b.text_hash) for b in blocks]).astype(np.float32)
