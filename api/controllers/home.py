"""The start page: the sign-in form for a visitor; for a signed-in user, what the library
holds, their live documents whose blocks went out of date, the demo prospects, and a
new-prospect form."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency

from api.clock import LocalTime
from api.controllers.session import sign_in_page
from api.runtime import Runtime
from api.state import Workspace
from api.web_auth import render_page
from tracker.models import utcnow
from tracker.regenerate import flagged_documents_of
from tracker.stale import LiveUse
from tracker.users import UserInfo


class HomeController(Controller):
    @get("/", media_type=MediaType.HTML, include_in_schema=False)
    async def home(
        self,
        request: Request[Any, Any, Any],
        workspace: NamedDependency[Workspace],
        runtime: NamedDependency[Runtime],
        signed_in: NamedDependency[UserInfo | None],
    ) -> Response[str]:
        if signed_in is None:
            return sign_in_page(request)
        if workspace.selector is None:
            return render_page(
                request,
                "home.html",
                user=signed_in,
                library=None,
                blocks=0,
                slots=[],
                facets={},
                prospects=(),
            )
        library = workspace.selector.indexed.library
        return render_page(
            request,
            "home.html",
            user=signed_in,
            library=library,
            blocks=len(library.blocks),
            slots=[s.title for s in library.slots],
            facets=library.facet_values(),
            prospects=workspace.prospects,
            flagged=await _flagged(runtime, signed_in),
        )

    @get("/health", summary="Liveness: the process answers")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}


async def _flagged(runtime: Runtime, user: UserInfo) -> dict[str, tuple[LiveUse, ...]]:
    """The user's own live documents showing blocks that went out of date, to regenerate."""
    if runtime.library is None:
        return {}
    now = utcnow()
    today = LocalTime(user.time_zone).date(now)
    async with runtime.session() as session:
        return await flagged_documents_of(session, runtime.library.id, user.id, today, now)
