"""The index above the HNSW threshold: approximate but measured against exact search,
persisted like the flat index, rebuilt when a block changes; below it, exact as before."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import (
    Embedder,
    Selection,
    Selector,
    index_library,
    load_library,
    load_prospects,
)
from engine.embed import Vectors
from engine.index import BlockIndex
from engine.library import Block

DIMENSION = 64
BLOCKS = 200
AS_OF = dt.date(2026, 11, 24)
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def unit_vectors(count: int, seed: int) -> Vectors:
    """Seeded vectors with the low intrinsic dimension of real embeddings (on uniform random
    vectors no graph index, and no notion of a nearest block, works)."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).standard_normal((8, DIMENSION))
    raw = rng.standard_normal((count, 8)) @ basis + 0.3 * rng.standard_normal((count, DIMENSION))
    unit: Vectors = (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)
    return unit


BLOCK_LIST = [Block(f"b{i:03d}", "value", f"Block number {i}", "") for i in range(BLOCKS)]
VECTORS = dict(zip((b.id for b in BLOCK_LIST), unit_vectors(BLOCKS, seed=1), strict=True))


def vectors_for(blocks: list[Block]) -> Vectors:
    return np.stack([VECTORS[b.id] for b in blocks])


def synced(threshold: int, blocks: list[Block] = BLOCK_LIST) -> BlockIndex:
    index = BlockIndex(DIMENSION)
    index.sync(blocks, vectors_for, hnsw_threshold=threshold)
    return index


def exact_top(query: Vectors, k: int) -> list[str]:
    ids = list(VECTORS)
    scores = np.stack(list(VECTORS.values())) @ query
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


def is_hnsw(index: BlockIndex) -> bool:
    return index.candidates([b.id for b in BLOCK_LIST], {}) is not None


def test_above_the_threshold_the_index_is_hnsw_with_recall_at_10_of_at_least_0_95() -> None:
    index = synced(threshold=BLOCKS)
    assert is_hnsw(index)
    queries = unit_vectors(50, seed=2)
    hits = [len({bid for bid, _ in index.search(q, 10)} & set(exact_top(q, 10))) for q in queries]
    recall = np.mean(hits) / 10
    assert recall >= 0.95


def test_below_the_threshold_the_index_stays_exact() -> None:
    index = synced(threshold=BLOCKS + 1)
    assert not is_hnsw(index)
    for query in unit_vectors(20, seed=3):
        assert [bid for bid, _ in index.search(query, 10)] == exact_top(query, 10)


def test_a_saved_hnsw_index_loads_as_hnsw_with_the_same_answers(tmp_path: Path) -> None:
    index = synced(threshold=BLOCKS)
    index.save(tmp_path)
    loaded = BlockIndex.load(tmp_path, DIMENSION)
    assert is_hnsw(loaded)
    ids = [b.id for b in BLOCK_LIST]
    np.testing.assert_array_equal(loaded.vectors(ids), index.vectors(ids))
    for query in unit_vectors(20, seed=4):
        assert loaded.search(query, 10) == index.search(query, 10)


def test_a_changed_block_rebuilds_an_hnsw_index_but_not_a_flat_one() -> None:
    changed = dataclasses.replace(BLOCK_LIST[5], title="Block number 5, rewritten")
    VECTORS[changed.id] = unit_vectors(1, seed=5)[0]
    blocks = [changed if b.id == changed.id else b for b in BLOCK_LIST]
    for threshold, rebuilt in ((BLOCKS, True), (BLOCKS + 1, False)):
        index = synced(threshold)
        report = index.sync(blocks, vectors_for, hnsw_threshold=threshold)
        assert (report.written, report.removed, report.rebuilt) == (1, 0, rebuilt)
        assert len(index) == BLOCKS
        np.testing.assert_array_equal(index.vectors([changed.id]), VECTORS[changed.id][None])
        assert index.search(VECTORS[changed.id], 1)[0][0] == changed.id


def test_growing_past_the_threshold_rebuilds_as_hnsw_and_keeps_every_vector() -> None:
    index = synced(threshold=BLOCKS, blocks=BLOCK_LIST[:-1])
    assert not is_hnsw(index)
    report = index.sync(BLOCK_LIST, vectors_for, hnsw_threshold=BLOCKS)
    assert (report.written, report.rebuilt) == (1, True)
    assert is_hnsw(index)
    ids = [b.id for b in BLOCK_LIST]
    np.testing.assert_array_equal(index.vectors(ids), vectors_for(BLOCK_LIST))


@pytest.mark.slow
def test_selection_through_hnsw_retrieval_equals_exact_when_every_slot_fits_a_shortlist(
    tmp_path: Path, embedder: Embedder
) -> None:
    """Retrieval narrows only slots with more eligible blocks than a shortlist; a fixture
    library has fewer, so selection through HNSW must give exactly the exact selection."""
    library = load_library(FIXTURES / "bastion" / "library")
    exact = Selector(index_library(library, embedder, tmp_path), embedder)
    approximate = index_library(library, embedder, tmp_path, hnsw_threshold=1)
    assert approximate.report.rebuilt
    assert approximate.table.nearest is not None and exact.indexed.table.nearest is None
    graph = Selector(approximate, embedder)
    for prospect in load_prospects(FIXTURES / "bastion" / "prospects"):
        assert same_choice(graph.select(prospect, AS_OF), exact.select(prospect, AS_OF))


def same_choice(a: Selection, b: Selection) -> bool:
    """Equal but for float noise: the two paths multiply the same vectors in another order,
    which can move a score's last rounded digit."""
    same_scores = np.allclose(scores(a), scores(b), atol=2e-4)
    return a.gaps == b.gaps and without_scores(a) == without_scores(b) and same_scores


def items(selection: Selection) -> list[dict[str, Any]]:
    data = selection.to_dict()
    alternatives = [a for alts in data["alternatives"].values() for a in alts]
    return [*data["sections"], *data["unanswered_needs"], *alternatives]


def scores(selection: Selection) -> list[float]:
    return [item.get("score", item.get("best_score")) for item in items(selection)]


def without_scores(selection: Selection) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if "score" not in k} for item in items(selection)]
