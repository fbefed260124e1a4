"""Bringing a library's vectors up to date: cached embeddings first, the model only for new text.

The model embeds passages (a block's title, paragraphs, list items, table rows); a block's
vector is the normalised mean of its passages'. Passages are short, so this costs no more
model time than embedding whole blocks, and the passage vectors let selection see which
sentence of a block answers which need.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.embed import Embedder, EmbeddingCache, Progress, Vectors
from engine.hnsw import DEFAULT_THRESHOLD
from engine.index import BlockIndex
from engine.lexical import Lexicon
from engine.library import Block, Library, passage_hash
from engine.table import BlockTable


@dataclass(frozen=True)
class IndexReport:
    """What an index run did: `embedded` counts blocks that needed the model at all."""

    blocks: int
    embedded: int
    passages_embedded: int
    written: int
    removed: int
    rebuilt: bool = False


@dataclass(frozen=True)
class IndexedLibrary:
    """A library with vectors for every block and passage, laid out for selection."""

    library: Library
    table: BlockTable
    report: IndexReport


def index_library(
    library: Library,
    embedder: Embedder,
    data_dir: Path,
    on_progress: Progress | None = None,
    hnsw_threshold: int = DEFAULT_THRESHOLD,
) -> IndexedLibrary:
    """Embed what the cache lacks, update the persisted index, and return the library's table
    (which, from `hnsw_threshold` blocks on, retrieves candidates from the HNSW index)."""
    cache = EmbeddingCache(data_dir / "embeddings", embedder.key)
    folder = data_dir / "index" / f"{_library_key(library)}-{embedder.key}"
    index = BlockIndex.load(folder, embedder.dimension)
    missing = _missing(library.blocks, cache)
    if missing:
        texts = list(missing.values())
        cache.put(list(missing), embedder.encode(texts, on_progress))
        cache.save()
    synced = index.sync(library.blocks, lambda blocks: block_vectors(cache, blocks), hnsw_threshold)
    if synced.written or synced.removed or synced.rebuilt:
        index.save(folder)
    ids = [b.id for b in library.blocks]
    table = BlockTable.build(
        library.blocks,
        index.vectors(ids),
        [np.stack([cache.get(passage_hash(p)) for p in b.passages]) for b in library.blocks],
    )
    table = replace(
        table, nearest=index.candidates(ids, table.slot_rows), lexicon=Lexicon.build(library.blocks)
    )
    needed_model = sum(any(passage_hash(p) in missing for p in b.passages) for b in library.blocks)
    report = IndexReport(len(library.blocks), needed_model, len(missing), *synced)
    return IndexedLibrary(library, table, report)


def block_vectors(cache: EmbeddingCache, blocks: Sequence[Block]) -> Vectors:
    """Each block's vector: the normalised mean of its passages' vectors."""
    means = np.stack([np.mean([cache.get(passage_hash(p)) for p in b.passages], 0) for b in blocks])
    normalised: Vectors = (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)
    return normalised


def _library_key(library: Library) -> str:
    """One index per library folder: two libraries in one data folder never share entries."""
    return hashlib.sha256(str(library.root.resolve()).encode()).hexdigest()[:12]


def _missing(blocks: Sequence[Block], cache: EmbeddingCache) -> dict[str, str]:
    """Passages the cache has never seen, by hash, each distinct text once."""
    return {
        key: text
        for block in blocks
        for text in block.passages
        if (key := passage_hash(text)) not in cache
    }
