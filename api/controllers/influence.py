"""Block influence over the API: the win rate of the deals in which a block was seen against
those in which it was sent but not seen (tracker/influence.py says how each is counted)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery

from api.auth import Action, permit
from api.controllers.blocks import Breakdown
from api.runtime import Runtime
from tracker.influence import block_influence, influence_breakdown, influence_to_dict
from tracker.keys import KeyInfo
from tracker.reports import UnknownBlockError


class BlockInfluenceController(Controller):
    path = "/api/blocks"
    tags = ("blocks",)

    @get(
        "/{block_id:str}/influence",
        summary="Win rate of the deals that saw a block against those sent it but not seeing it",
    )
    async def influence(
        self,
        block_id: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
        by: FromQuery[Breakdown | None] = None,
    ) -> dict[str, Any]:
        """Both arms' deals, wins, win rate and 95% Wilson interval (null below `min_deals`
        deals), and the lift when both arms have enough; with `by` (slot, industry, persona or
        stage) also the same per group. A deal with no decision counts as not won."""
        permit(caller, Action.READ_ENGAGEMENT)
        if runtime.library is None:
            raise NotFoundException(f"no block {block_id!r}")
        library_id = runtime.library.id
        async with runtime.session() as session:
            try:
                influence = await block_influence(session, library_id, block_id)
                groups = (
                    []
                    if by is None
                    else await influence_breakdown(session, library_id, block_id, by)
                )
            except UnknownBlockError as exc:
                raise NotFoundException(str(exc)) from None
        return influence_to_dict(block_id, influence, by, groups)
