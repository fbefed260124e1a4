"""Marketing's page of one block of the library in use: its text, every version, where it is
used, how it was read week by week and by whom, how its deals ended when it was seen and when
not, and what the reps said about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Action
from api.charts.weekly import weekly_chart
from api.clock import zone
from api.runtime import Runtime
from api.web_auth import permit_user, render_page
from tracker.block_usage import (
    BlockUse,
    WeekFigures,
    block_uses,
    find_block,
    recent_weeks,
    weekly_engagement,
)
from tracker.feedback import FieldNeed, Rating, block_needs, block_ratings
from tracker.influence import (
    MIN_DEALS,
    Influence,
    InfluenceGroup,
    block_influence,
    influence_breakdown,
)
from tracker.library_store import StoredLibrary
from tracker.models import Block, BlockVersion, utcnow
from tracker.reports import (
    DIMENSIONS,
    PROFILE_FACETS,
    BlockBreakdown,
    Dimension,
    EngagementFilter,
    block_breakdown,
)
from tracker.users import UserInfo

WEEKS = 12  # a quarter: long enough for a trend, short enough to read each column
FACETS: tuple[Dimension, ...] = tuple(d for d in DIMENSIONS if d in PROFILE_FACETS)


@dataclass(frozen=True)
class BlockStory:
    """Everything the block page shows, gathered in one database session."""

    block: Block
    current: BlockVersion  # the version the library in use holds, else the latest
    uses: list[BlockUse]
    weeks: list[WeekFigures]
    breakdown: dict[str, list[BlockBreakdown]]  # by facet
    influence: Influence
    influence_groups: dict[Dimension, list[InfluenceGroup]]  # by slot and by facet
    ratings: list[Rating]
    needs: list[FieldNeed]

    @property
    def useful(self) -> int:
        return sum(r.useful for r in self.ratings)

    @property
    def not_useful(self) -> int:
        return len(self.ratings) - self.useful


async def block_story(
    session: AsyncSession, library: StoredLibrary, key: str, user: UserInfo
) -> BlockStory | None:
    """The block `key` of the library in use as its page shows it; None when it has none."""
    block = await find_block(session, library.id, key)
    if block is None:
        return None
    in_use = library.versions.get(key)
    current = next((v for v in block.versions if v.id == in_use), block.versions[-1])
    weeks = recent_weeks(utcnow(), zone(user.time_zone), WEEKS)
    scope = EngagementFilter(library_id=library.id)
    return BlockStory(
        block=block,
        current=current,
        uses=await block_uses(session, block.id),
        weeks=await weekly_engagement(session, block.id, weeks),
        breakdown={facet: await block_breakdown(session, key, facet, scope) for facet in FACETS},
        influence=await block_influence(session, library.id, key),
        influence_groups={
            by: await influence_breakdown(session, library.id, key, by) for by in DIMENSIONS
        },
        ratings=await block_ratings(session, block.id),
        needs=await block_needs(session, block.id),
    )


class BlockPageController(Controller):
    path = "/marketing/blocks/{block_key:str}"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        block_key: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        permit_user(user, Action.READ_ENGAGEMENT)
        story = None
        if runtime.library is not None:
            async with runtime.session() as session:
                story = await block_story(session, runtime.library, block_key, user)
        selector = runtime.workspace.selector
        return render_page(
            request,
            "block.html",
            user=user,
            library=selector.indexed.library if selector else None,
            key=block_key,
            story=story,
            chart=weekly_chart(story.weeks) if story else None,
            min_deals=MIN_DEALS,
            status_code=200 if story else 404,
        )
