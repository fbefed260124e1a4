"""Engagement-informed selection in the app: whether a request asks for it, and the recorded
observations it learns from. Off unless asked for (the API's `learning` field, the pages'
PITCHMAP_LEARNING setting): by default selection stays content-only and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.errors import bad_field
from api.fields import MAX_ID
from api.runtime import Runtime
from engine import Prospect, Selector
from engine.learning import SEGMENT_FACET, Engagement, Learning
from tracker.read_counts import read_counts


def requested(body: Mapping[str, Any]) -> Learning | None:
    """The body's `learning`: absent, null or false for none, true for seed 0, or
    {"seed": <int>} for that seed (the same seed gives the same document)."""
    value = body.get("learning")
    if value is None or value is False:
        return None
    if value is True:
        return Learning()
    if not isinstance(value, Mapping) or set(value) - {"seed"}:
        raise bad_field("learning", 'must be true, false or {"seed": <integer>}')
    seed = value.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_ID:
        raise bad_field("learning.seed", f"must be an integer from 0 to {MAX_ID}")
    return Learning(seed=seed)


def for_pages(runtime: Runtime) -> Learning | None:
    """What the rep's pages use: learning with seed 0 when PITCHMAP_LEARNING is on."""
    return Learning() if runtime.settings.learning else None


async def engagement(
    runtime: Runtime, selector: Selector, prospect: Prospect, learning: Learning | None
) -> Engagement | None:
    """The observations of the active library for this prospect's segments, or None."""
    if learning is None:
        return None
    async with runtime.session() as session:
        observations = await read_counts(
            session, selector.indexed.library.name, prospect.facet(SEGMENT_FACET)
        )
    return Engagement(observations, learning)
