"""Themes: free-text needs grouped by meaning, so fifty wordings of one content gap read as one.

Grouping is greedy and deterministic: the most-mentioned wording not yet placed seeds a theme
and takes every unplaced wording at least `SIMILAR` (cosine) from it; then the next. Seeding
by mentions means the common way of saying a thing anchors its theme, and a rare wording never
drags a common one away. The pairwise similarities are one matrix product, so the cost is
memory quadratic in the number of distinct wordings: callers bound how many they pass.

`VectorMemory` keeps the vectors of wordings embedded before, so a page that groups the same
needs again costs no model call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from engine.embed import Vectors

# Two wordings this close (cosine, on the packaged MiniLM model) say the same need. Measured:
# "cut fuel spend" / "reduce what we pay for fuel" 0.78; "GDPR audit" / either ~0.05; the
# neighbouring but narrower "lower diesel costs" ~0.5, which stays a theme of its own.
SIMILAR = 0.6


@dataclass(frozen=True)
class Theme:
    """One group of wordings, as indices into the texts given: `members` most-mentioned first
    (ties by text), `representative` the member closest to the theme's weighted centroid."""

    members: tuple[int, ...]
    representative: int
    weight: int  # the members' mentions together


def group_by_meaning(
    texts: Sequence[str],
    vectors: Vectors,
    weights: Sequence[int],
    threshold: float = SIMILAR,
) -> tuple[Theme, ...]:
    """Themes of `texts` (row i of `vectors` embeds texts[i], weighted by weights[i]), biggest
    first, ties by their representative's text."""
    if len(texts) != len(vectors) or len(texts) != len(weights):
        raise ValueError("texts, vectors and weights must have one entry per text")
    if not texts:
        return ()
    # Work in rank order (most mentioned first, ties by text): every wording ranked before a
    # seed is already placed, so each seed looks only at those after it, and members come out
    # in rank order.
    order = np.array(sorted(range(len(texts)), key=lambda i: (-weights[i], texts[i])))
    unit = _unit(vectors)[order]
    weight = np.asarray(weights, dtype=np.float64)[order]
    similar = unit @ unit.T >= threshold
    free = np.ones(len(texts), dtype=bool)
    themes = []
    for seed in range(len(texts)):
        if not free[seed]:
            continue
        members = seed + np.flatnonzero(free[seed:] & similar[seed, seed:])
        free[members] = False
        themes.append(_theme(members, unit, weight, order))
    return tuple(sorted(themes, key=lambda t: (-t.weight, texts[t.representative])))


def _unit(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Vectors = (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return unit


def _theme(
    members: NDArray[np.intp], unit: Vectors, weight: NDArray[np.float64], order: NDArray[np.intp]
) -> Theme:
    """The members' mention-weighted centroid picks the representative (the first, most
    mentioned member on ties). `members` are ranks; `order` turns them into text indices."""
    closest = 0
    if len(members) > 1:
        centroid = (unit[members] * weight[members, None]).sum(axis=0)
        closest = int(np.argmax(unit[members] @ centroid))
    return Theme(
        members=tuple(order[members].tolist()),
        representative=int(order[members[closest]]),
        weight=int(weight[members].sum()),
    )


class VectorMemory:
    """The vectors of the `size` texts used most recently. Not thread-safe: keep it on one
    thread (the event loop) and embed elsewhere."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a vector memory holds at least one text")
        self.size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()

    def __len__(self) -> int:
        return len(self._vectors)

    def recall(self, texts: Sequence[str]) -> dict[str, Vectors]:
        """The vectors known for `texts`, each marked as just used."""
        known = {}
        for text in texts:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                known[text] = vector
        return known

    def remember(self, vectors: Mapping[str, Vectors]) -> None:
        """Keep `vectors`, forgetting the least recently used beyond `size`."""
        for text, vector in vectors.items():
            self._vectors[text] = vector
            self._vectors.move_to_end(text)
        while len(self._vectors) > self.size:
            self._vectors.popitem(last=False)
