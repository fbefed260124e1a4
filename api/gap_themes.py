"""Content gaps grouped into themes by meaning, for marketing's gaps page and weekly digest.

Themes need the needs' vectors. Those come from the selector's embedder, on a worker thread
and under the build lock (the model is not shared between threads), and are remembered per
embedder in memory, so each wording is embedded once however often the page is asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from weakref import WeakKeyDictionary

import numpy as np

from api.building import build_lock
from engine import Embedder
from engine.embed import Vectors
from engine.themes import VectorMemory, group_by_meaning
from tracker.gaps import GapTheme, Wording, gap_themes

# Wordings whose vectors stay in memory: ~30 MB of 384-float vectors, far more distinct needs
# than a sales team writes in a year.
NEED_VECTORS = 20_000
# Distinct wordings grouped per page, the most mentioned: grouping compares every pair, so its
# memory grows with the square of this (16 MB at 2,000).
MAX_WORDINGS = 2_000

_memories: WeakKeyDictionary[Embedder, VectorMemory] = WeakKeyDictionary()


async def need_vectors(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """The vectors of `texts`, in order, embedding only those not remembered. The memory is
    touched on the event loop only; the model runs on a worker thread."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    memory = _memories.setdefault(embedder, VectorMemory(NEED_VECTORS))
    known = memory.recall(texts)
    missing = [text for text in texts if text not in known]
    if missing:
        fresh = await asyncio.to_thread(_embed, embedder, missing)
        new = dict(zip(missing, fresh, strict=True))
        memory.remember(new)
        known.update(new)
    return np.stack([known[text] for text in texts])


def _embed(embedder: Embedder, texts: list[str]) -> Vectors:
    with build_lock:
        return embedder.encode(texts)


async def gap_themes_of(embedder: Embedder, wordings: Sequence[Wording]) -> tuple[GapTheme, ...]:
    """The wordings grouped by meaning into themes, biggest first."""
    texts = [w.text for w in wordings]
    vectors = await need_vectors(embedder, texts)
    return gap_themes(wordings, group_by_meaning(texts, vectors, [w.mentions for w in wordings]))
