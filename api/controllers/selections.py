"""Selections: the best eligible blocks per slot for a prospect, as JSON and as a page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, URLEncodedBody

from api import fields
from api.auth import Action, permit
from api.building import requested_prospect
from api.errors import NoLibraryError
from api.state import Workspace
from api.web_auth import CSRF_FIELD, render_page
from engine import Prospect, Selection, Selector, parse_prospect
from tracker.keys import KeyInfo
from tracker.users import UserInfo


def _selector(workspace: NamedDependency[Workspace]) -> Selector:
    if workspace.selector is None:
        raise NoLibraryError
    return workspace.selector


class SelectionController(Controller):
    @post("/api/select", status_code=200, summary="Select the blocks of every slot for a prospect")
    async def select_json(
        self,
        data: JSONBody[dict[str, Any]],
        workspace: NamedDependency[Workspace],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """Body: {"prospect": {<profile, contract section 2>}, "as_of": "YYYY-MM-DD"?}.
        Answers the same JSON object as `pitchmap select --json` prints for one prospect."""
        permit(caller, Action.CREATE_DOCUMENTS)
        selector = _selector(workspace)
        body = fields.body_object(data)
        fields.only(body, ("prospect", "as_of"))
        prospect = requested_prospect(body)
        return selector.select(prospect, fields.date(body, "as_of", dt.date.today())).to_dict()

    @post("/select", media_type=MediaType.HTML, include_in_schema=False)
    async def select_form(
        self,
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        workspace: NamedDependency[Workspace],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        selector = _selector(workspace)
        fields = {
            k: v.strip()
            for k, v in data.items()
            if k != CSRF_FIELD and isinstance(v, str) and v.strip()
        }
        profile = {"id": "p-form", **fields}
        prospect = parse_prospect(profile, where="form")
        return self._page(request, user, selector, prospect, dt.date.today())

    @get("/prospects/{prospect_id:str}", media_type=MediaType.HTML, include_in_schema=False)
    async def demo_prospect(
        self,
        prospect_id: FromPath[str],
        request: Request[Any, Any, Any],
        workspace: NamedDependency[Workspace],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        selector = _selector(workspace)
        prospect = next((p for p in workspace.prospects if p.id == prospect_id), None)
        if prospect is None:
            raise NotFoundException(f"no demo prospect {prospect_id!r}")
        return self._page(request, user, selector, prospect, dt.date.today())

    def _page(
        self,
        request: Request[Any, Any, Any],
        user: UserInfo,
        selector: Selector,
        prospect: Prospect,
        as_of: dt.date,
    ) -> Response[str]:
        selection: Selection = selector.select(prospect, as_of)
        library = selector.indexed.library
        facets = {f: ", ".join(prospect.facet(f)) for f in library.facets() if prospect.facet(f)}
        return render_page(
            request,
            "selection.html",
            user=user,
            library=library,
            prospect=prospect,
            selection=selection,
            as_of=as_of.isoformat(),
            facets=facets,
            titles=library.titles,
            slot_titles={s.id: s.title for s in library.slots},
        )
