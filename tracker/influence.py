"""Block influence: how often deals were won when a block was seen, against deals in which it
was sent but never seen, with 95% Wilson intervals so that a small sample looks small.

Definitions:
- A *deal* is a prospect with a recorded outcome (`deal_outcomes`, one per prospect). It is
  *won* when the outcome is 'won'. 'lost' and 'no_decision' are both deals not won: a deal
  that ends without a decision is lost to the status quo, a loss for the seller like any other,
  and leaving it out would flatter the blocks of every stalled deal.
- A block was *sent* in a deal when a document of the prospect contains a version of it and
  was made on or before the deal's `closed_on` (the UTC date of the document's creation): a
  document made after the close cannot have influenced it and does not count.
- It was *seen* in the deal when at least one session of any share link of those documents had
  one of the block's sections on screen (`tracker.reports.seen_flag`), else it was *unseen*.
- The win rate of an arm (seen, unseen) is won / deals, with the 95% Wilson score interval
  (z = 1.959964). Below MIN_DEALS deals an arm has no rate and no interval ("too few deals"),
  only its counts. The lift is the seen rate minus the unseen rate, with Newcombe's hybrid
  score interval built from the two Wilson intervals (Newcombe 1998, method 10), and only when
  both arms have enough deals.
- Breakdowns group by the slot the block filled, or by a prospect facet (industry, persona,
  stage) of the document's profile snapshot, read as selection reads it (`facet_values`): a
  document listing several values counts under each, one stating none under None. A deal
  belongs to a group when one of its counted documents sent the block in that group, and was
  seen there when the block was seen in one of those documents.

This measures association, not cause: a prospect who reads more may be a warmer deal anyway.
Whether a section was seen comes from its raw section-time rows and from its rolled-up counts
(`document_sections.rolled_seen`, kept by tracker/rollup.py), so a purge of old raw rows does
not forget which blocks a deal's prospect saw. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from sqlalchemy import ColumnElement, Exists, Select, and_, exists, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import (
    Block,
    BlockVersion,
    DealOutcome,
    Document,
    DocumentSection,
    SectionTime,
    ShareLink,
    Visit,
    visit_of_section_time,
)
from tracker.reports import DIMENSIONS, Dimension, UnknownBlockError, read_flag, seen_flag
from tracker.rollup import facet_values

Z_95: Final = 1.959964  # the standard normal quantile of 0.975: a two-sided 95% interval
MIN_DEALS: Final = 5  # per arm; fewer and a win rate says more about luck than the block

K = TypeVar("K", bound=Hashable)


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: unlike the textbook p ± z·se it stays inside
    [0, 1] and is not zero-width at 0 or n successes, which is what small deal counts need.
    (0.0, 1.0) for no trials: nothing is known."""
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    spread = z * z / trials
    centre = (p + spread / 2) / (1 + spread)
    half = z * math.sqrt(p * (1 - p) / trials + spread / (4 * trials)) / (1 + spread)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class WinRate:
    """The deals of one arm and how many were won."""

    deals: int = 0
    won: int = 0

    @property
    def enough(self) -> bool:
        return self.deals >= MIN_DEALS

    @property
    def rate(self) -> float | None:
        return self.won / self.deals if self.enough else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson_interval(self.won, self.deals) if self.enough else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deals": self.deals,
            "won": self.won,
            "win_rate": self.rate,
            "interval": _pair(self.interval),
            "enough": self.enough,
        }


@dataclass(frozen=True)
class Influence:
    """A block's deals split by whether it was seen in them."""

    seen: WinRate = WinRate()
    unseen: WinRate = WinRate()

    @property
    def lift(self) -> float | None:
        """The seen win rate minus the unseen one, when both arms have enough deals."""
        if self.seen.rate is None or self.unseen.rate is None:
            return None
        return self.seen.rate - self.unseen.rate

    @property
    def lift_interval(self) -> tuple[float, float] | None:
        """Newcombe's hybrid score interval of the lift (method 10 of his 1998 paper)."""
        if self.lift is None or self.seen.interval is None or self.unseen.interval is None:
            return None
        p1, (low1, high1) = self.seen.won / self.seen.deals, self.seen.interval
        p2, (low2, high2) = self.unseen.won / self.unseen.deals, self.unseen.interval
        below = math.hypot(p1 - low1, high2 - p2)
        above = math.hypot(high1 - p1, p2 - low2)
        return (max(-1.0, self.lift - below), min(1.0, self.lift + above))

    def to_dict(self) -> dict[str, Any]:
        return {
            "seen": self.seen.to_dict(),
            "unseen": self.unseen.to_dict(),
            "lift": self.lift,
            "lift_interval": _pair(self.lift_interval),
        }


@dataclass(frozen=True)
class InfluenceGroup:
    """A block's influence within one slot or facet value (None: the profile does not say)."""

    by: Dimension
    value: str | None
    influence: Influence

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, **self.influence.to_dict()}


def influence_to_dict(
    block_key: str,
    influence: Influence,
    by: Dimension | None = None,
    groups: Iterable[InfluenceGroup] = (),
) -> dict[str, Any]:
    """The body of `GET /api/blocks/{block_id}/influence`."""
    body = {"block_id": block_key, "min_deals": MIN_DEALS, **influence.to_dict()}
    if by is not None:
        body |= {"by": by, "groups": [group.to_dict() for group in groups]}
    return body


# ---------------------------------------------------------------------------------------------
# Reading


async def block_influence(session: AsyncSession, library_id: int, block_key: str) -> Influence:
    """The influence of the library's block `block_key` over every deal that was sent it."""
    block_id = await _block_id(session, library_id, block_key)
    sendings = await _sendings(session, select(Block.id).where(Block.id == block_id))
    return _influences(sendings, lambda _: [None]).get(None, Influence())


async def influence_breakdown(
    session: AsyncSession, library_id: int, block_key: str, by: Dimension
) -> list[InfluenceGroup]:
    """The block's influence per slot or per value of a prospect facet, for the groups it was
    sent in, sorted by value with None (the profile does not say) last."""
    if by not in DIMENSIONS:
        raise ValueError(f"by: {by!r} is not one of {', '.join(DIMENSIONS)}")
    block_id = await _block_id(session, library_id, block_key)
    only = select(Block.id).where(Block.id == block_id)
    sendings = await _sendings(session, only, with_profiles=by != "slot")

    def groups(sending: _Sending) -> list[str | None]:
        if by == "slot":
            return [sending.slot]
        return list(facet_values(sending.profile, by)) or [None]

    found = _influences(sendings, groups)
    ordered = sorted(found, key=lambda value: (value is None, value or ""))
    return [InfluenceGroup(by, value, found[value]) for value in ordered]


async def influence_by_block(session: AsyncSession, library_id: int) -> dict[str, Influence]:
    """The library's blocks that were sent in a deal, by id, with their influence (a block
    missing was in no deal): one query however many blocks there are, for the leaderboard's
    column, which must not read ten thousand blocks to say "no deal" for most of them."""
    sendings = await _sendings(session, select(Block.id).where(Block.library_id == library_id))
    found = _influences(sendings, lambda sending: [sending.block_id])
    keys = await session.execute(select(Block.id, Block.key).where(Block.id.in_(list(found))))
    return {key: found[block_id] for block_id, key in keys}


@dataclass(frozen=True)
class _Sending:
    """One section of a counted document that holds a version of a block, in a deal."""

    block_id: int
    prospect_id: int
    won: bool
    slot: str
    seen: bool
    profile: dict[str, Any]  # the document's snapshot; empty when not asked for


async def _sendings(
    session: AsyncSession, block_ids: Select[int], with_profiles: bool = False
) -> list[_Sending]:
    """The sections holding one of the blocks in the deals' documents made on or before the
    close, each with whether any session of the document's links saw it. The close is compared
    in Python: the UTC date of a timestamp has no portable SQL form."""
    seen = section_seen()
    # The profile snapshot only when a breakdown by facet needs it: it is the bulk of a row.
    profile: Any = Document.profile if with_profiles else null()
    query = (
        select(
            BlockVersion.block_id,
            Document.prospect_id,
            DealOutcome.outcome,
            DealOutcome.closed_on,
            Document.created_at,
            DocumentSection.slot,
            seen.label("seen"),
            profile,
        )
        .select_from(DocumentSection)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Document, Document.id == DocumentSection.document_id)
        .join(DealOutcome, DealOutcome.prospect_id == Document.prospect_id)
        .where(BlockVersion.block_id.in_(block_ids))
    )
    rows = await session.execute(query)
    return [
        _Sending(block_id, prospect_id, outcome == "won", slot, bool(seen), dict(snapshot or {}))
        for block_id, prospect_id, outcome, closed_on, created_at, slot, seen, snapshot in rows
        if made_by(created_at, closed_on)
    ]


def _influences(
    sendings: Iterable[_Sending], groups: Callable[[_Sending], Iterable[K]]
) -> dict[K, Influence]:
    """The influence per group: each deal once per group it was sent the block in, seen there
    when any of its sections in that group was seen."""
    deals: dict[tuple[K, int], tuple[bool, bool]] = {}
    for sending in sendings:
        for group in groups(sending):
            _, seen = deals.get((group, sending.prospect_id), (sending.won, False))
            deals[group, sending.prospect_id] = (sending.won, seen or sending.seen)
    arms: dict[K, dict[bool, WinRate]] = defaultdict(lambda: {True: WinRate(), False: WinRate()})
    for (group, _), (won, seen) in deals.items():
        arm = arms[group][seen]
        arms[group][seen] = WinRate(arm.deals + 1, arm.won + won)
    return {group: Influence(seen=arm[True], unseen=arm[False]) for group, arm in arms.items()}


async def _block_id(session: AsyncSession, library_id: int, key: str) -> int:
    """The row id of the library's block `key`; UnknownBlockError when it has no version."""
    block_id = await session.scalar(
        select(Block.id).where(
            Block.library_id == library_id,
            Block.key == key,
            Block.id.in_(select(BlockVersion.block_id)),
        )
    )
    if block_id is None:
        raise UnknownBlockError(key)
    return block_id


def section_seen() -> ColumnElement[bool]:
    """Whether a session of its document's links saw the enclosing query's `DocumentSection`."""
    return or_(DocumentSection.rolled_seen > 0, _section_had(seen_flag()))


def section_read() -> ColumnElement[bool]:
    """Whether a session of its document's links read the enclosing query's `DocumentSection`."""
    return or_(DocumentSection.rolled_read > 0, _section_had(read_flag()))


def _section_had(flag: ColumnElement[int]) -> Exists:
    """Whether a raw section-time row of the section has `flag`; the section's rolled-up
    counts answer for visits whose raw rows were purged."""
    return exists(
        select(SectionTime.visit_id)
        .join(Visit, visit_of_section_time())
        .join(
            ShareLink,
            and_(
                ShareLink.id == Visit.link_id,
                ShareLink.document_id == DocumentSection.document_id,
            ),
        )
        .where(SectionTime.section_id == DocumentSection.id, flag == 1)
    )


def made_by(created_at: dt.datetime, closed_on: dt.date) -> bool:
    """Whether a document made at `created_at` can have influenced a deal closed on
    `closed_on`: made on or before that (UTC) day."""
    return created_at.astimezone(dt.UTC).date() <= closed_on


def _pair(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else [interval[0], interval[1]]
