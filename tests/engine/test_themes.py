"""Grouping needs into themes: greedy, deterministic, on hand-made vectors and on the real
model's paraphrases; and the memory that keeps their vectors."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Embedder
from engine.themes import SIMILAR, VectorMemory, group_by_meaning


def vectors(*rows: tuple[float, ...]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


def test_similar_wordings_share_a_theme_and_the_biggest_theme_comes_first() -> None:
    texts = ["fuel a", "fuel b", "gdpr", "fuel c"]
    found = group_by_meaning(
        texts,
        vectors((1, 0, 0), (0.9, 0.1, 0), (0, 0, 1), (0.95, 0, 0.05)),
        [1, 1, 5, 1],
    )
    assert [[texts[i] for i in t.members] for t in found] == [
        ["gdpr"],
        ["fuel a", "fuel b", "fuel c"],
    ]
    assert [t.weight for t in found] == [5, 3]


def test_the_representative_is_the_member_closest_to_the_weighted_centroid() -> None:
    texts = ["left", "middle", "right"]
    angle = np.deg2rad(30)  # left and right 60 degrees apart: each within SIMILAR of middle
    rows = vectors((np.cos(angle), -np.sin(angle)), (1, 0), (np.cos(angle), np.sin(angle)))
    (theme,) = group_by_meaning(texts, rows, [3, 2, 3], threshold=0.49)
    assert texts[theme.representative] == "middle"
    (heavy_left,) = group_by_meaning(texts, rows, [10, 1, 1], threshold=0.49)
    assert texts[heavy_left.representative] == "left"
    assert [texts[i] for i in heavy_left.members] == ["left", "middle", "right"]


def test_the_most_mentioned_wording_seeds_its_theme() -> None:
    # b is close to both a and c, which are not close to each other: b seeds, taking both.
    texts = ["a", "b", "c"]
    rows = vectors((1, 0), (np.cos(np.deg2rad(45)), np.sin(np.deg2rad(45))), (0, 1))
    assert len(group_by_meaning(texts, rows, [1, 1, 1], threshold=0.7)) == 2  # a seeds first
    (theme,) = group_by_meaning(texts, rows, [1, 9, 1], threshold=0.7)
    assert theme.weight == 11 and texts[theme.representative] == "b"


def test_ties_are_broken_by_text_so_the_order_never_changes() -> None:
    texts = ["zeta", "alpha", "mid"]
    rows = vectors((1, 0, 0), (0, 1, 0), (0, 0, 1))
    found = group_by_meaning(texts, rows, [2, 2, 2])
    assert [texts[t.representative] for t in found] == ["alpha", "mid", "zeta"]
    assert group_by_meaning(texts, rows, [2, 2, 2]) == found


def test_nothing_to_group_and_mismatched_inputs() -> None:
    assert group_by_meaning([], np.zeros((0, 3), dtype=np.float32), []) == ()
    with pytest.raises(ValueError, match="one entry per text"):
        group_by_meaning(["a"], vectors((1, 0)), [1, 2])


def test_paraphrases_of_one_need_share_a_theme_with_the_real_model(embedder: Embedder) -> None:
    texts = ["cut fuel spend", "reduce what we pay for fuel", "GDPR audit"]
    found = group_by_meaning(texts, embedder.encode_queries(texts), [1, 1, 1], SIMILAR)
    themes = sorted(sorted(texts[i] for i in t.members) for t in found)
    assert themes == [["GDPR audit"], ["cut fuel spend", "reduce what we pay for fuel"]]


def test_the_memory_forgets_the_least_recently_used() -> None:
    memory = VectorMemory(2)
    memory.remember({"a": vectors((1, 0))[0], "b": vectors((0, 1))[0]})
    assert set(memory.recall(["a", "z"])) == {"a"}  # a is now the most recent
    memory.remember({"c": vectors((1, 1))[0]})
    assert len(memory) == 2
    assert set(memory.recall(["a", "b", "c"])) == {"a", "c"}
    with pytest.raises(ValueError):
        VectorMemory(0)
