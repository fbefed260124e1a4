"""Blocks for marketing: what the library holds, every version, and how each block is read."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from api import fields
from api.auth import Action, permit
from api.controllers.documents import CSV, csv_response
from api.errors import bad_field
from api.runtime import Runtime
from tracker.csv_export import breakdown_csv, engagement_csv
from tracker.keys import KeyInfo
from tracker.models import Block, BlockVersion
from tracker.reports import (
    BlockBreakdown,
    BlockEngagement,
    EngagementFilter,
    UnknownBlockError,
    block_breakdown,
    block_engagement,
    engagement_to_dict,
)

Breakdown = Literal["slot", "industry", "persona", "stage"]
FacetQuery = Annotated[str | None, QueryParameter(max_length=200, pattern=fields.PLAIN_TEXT)]
WhenQuery = Annotated[dt.datetime | None, QueryParameter()]


async def engagement_rows(
    runtime: NamedDependency[Runtime],
    caller: NamedDependency[KeyInfo],
    slot: FacetQuery = None,
    industry: FacetQuery = None,
    persona: FacetQuery = None,
    stage: FacetQuery = None,
    since: WhenQuery = None,
    until: WhenQuery = None,
) -> list[BlockEngagement]:
    """The engagement rows both routes answer (JSON and CSV), after the role check. Filters:
    the section's slot, the prospect's industry/persona/stage, and visits made since/until
    (ISO datetimes, UTC when no offset)."""
    permit(caller, Action.READ_ENGAGEMENT)
    filters = engagement_filter(runtime, slot, industry, persona, stage, since, until)
    async with runtime.session() as session:
        return await block_engagement(session, filters)


def engagement_filter(
    runtime: Runtime,
    slot: str | None,
    industry: str | None,
    persona: str | None,
    stage: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> EngagementFilter:
    """The filter over the active library that the API and marketing's pages both read their
    query into; 400 naming `since`/`until` when a moment is unusable or the window is empty."""
    filters = EngagementFilter(
        library_id=runtime.library.id if runtime.library else None,
        slot=slot,
        industry=industry,
        persona=persona,
        stage=stage,
        since=None if since is None else fields.utc(since, "since"),
        until=None if until is None else fields.utc(until, "until"),
    )
    if filters.since is not None and filters.until is not None and filters.until < filters.since:
        raise bad_field("until", "is before since")
    return filters


_ENGAGEMENT = {"rows": Provide(engagement_rows)}


async def breakdown_groups(
    block_id: FromPath[str],
    runtime: NamedDependency[Runtime],
    caller: NamedDependency[KeyInfo],
    by: FromQuery[Breakdown] = "slot",
) -> list[BlockBreakdown]:
    """One block's figures grouped by `by`, after the role check; 404 for an unknown block."""
    permit(caller, Action.READ_ENGAGEMENT)
    async with runtime.session() as session:
        try:
            return await block_breakdown(session, block_id, by)
        except UnknownBlockError as exc:
            raise NotFoundException(str(exc)) from None


_BREAKDOWN = {"groups": Provide(breakdown_groups)}


class BlockController(Controller):
    path = "/api/blocks"
    tags = ("blocks",)

    @get(
        "/engagement",
        dependencies=_ENGAGEMENT,
        summary="Engagement per block over every document that contains it",
    )
    async def engagement(self, rows: NamedDependency[list[BlockEngagement]]) -> dict[str, Any]:
        """Optional filters: slot, industry, persona, stage, since, until."""
        return engagement_to_dict(rows)

    @get(
        "/engagement.csv",
        dependencies=_ENGAGEMENT,
        media_type=CSV,
        summary="Engagement per block as CSV (same filters)",
    )
    async def engagement_csv(self, rows: NamedDependency[list[BlockEngagement]]) -> Response[str]:
        return csv_response(engagement_csv(rows), "block-engagement.csv")

    @get(
        "/{block_id:str}/engagement",
        dependencies=_BREAKDOWN,
        summary="One block's engagement broken down by slot, industry, persona or stage",
    )
    async def breakdown(
        self,
        block_id: FromPath[str],
        groups: NamedDependency[list[BlockBreakdown]],
        by: FromQuery[Breakdown] = "slot",
    ) -> dict[str, Any]:
        """`by`: slot (default), industry, persona or stage."""
        return {"block_id": block_id, "by": by, "groups": [row.to_dict() for row in groups]}

    @get(
        "/{block_id:str}/engagement.csv",
        dependencies=_BREAKDOWN,
        media_type=CSV,
        summary="One block's engagement broken down, as CSV (same `by`)",
    )
    async def breakdown_csv(
        self, block_id: FromPath[str], groups: NamedDependency[list[BlockBreakdown]]
    ) -> Response[str]:
        return csv_response(breakdown_csv(groups), f"block-{block_id}-engagement.csv")

    @get("/", summary="The active library's blocks, each with its latest version")
    async def index(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[KeyInfo]
    ) -> dict[str, Any]:
        permit(caller, Action.MANAGE_BLOCKS)
        if runtime.library is None:
            return {"blocks": []}
        async with runtime.session() as session:
            blocks = await session.scalars(
                select(Block)
                .where(Block.library_id == runtime.library.id)
                .options(selectinload(Block.versions))
                .order_by(Block.key)
            )
            return {"blocks": [_block_view(b, latest_only=True) for b in blocks]}

    @get("/{block_id:str}", summary="One block with every version it has had")
    async def show(
        self,
        block_id: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        permit(caller, Action.MANAGE_BLOCKS)
        if runtime.library is None:
            raise NotFoundException(f"no block {block_id!r}")
        async with runtime.session() as session:
            block = await session.scalar(
                select(Block)
                .where(Block.library_id == runtime.library.id, Block.key == block_id)
                .options(selectinload(Block.versions))
            )
            if block is None:
                raise NotFoundException(f"no block {block_id!r}")
            return _block_view(block, latest_only=False)


def _block_view(block: Block, latest_only: bool) -> dict[str, Any]:
    versions = block.versions[-1:] if latest_only else block.versions
    return {"block_id": block.key, "versions": [_version_view(v) for v in versions]}


def _version_view(version: BlockVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "content_hash": version.content_hash,
        "slot": version.slot,
        "title": version.title,
        "status": version.status,
        "expires": version.expires.isoformat() if version.expires else None,
        "tags": version.tags,
        "body": version.body,
        "created_at": version.created_at.isoformat(),
    }
