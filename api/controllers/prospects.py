"""The rep's prospects on the pages: the list with its search, the new-prospect and edit forms,
the selection preview whose "Generate" makes the document with the rep's swaps, and the pre-call
view over every document made for the prospect."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody

from api import building, fields
from api.auth import permit_owner
from api.clock import LocalTime
from api.controllers.documents import selector_of
from api.controllers.precall import duration, timeline
from api.controllers.prospect_outcome import OutcomeForm, outcome_form
from api.engagement import engagement, for_pages
from api.journey import (
    CONTACT_FIELDS,
    SECTION_FIELD,
    SwapError,
    apply_swaps,
    choices_of,
    prospect_profile,
    rep_of,
    sees_everything,
)
from api.runtime import Runtime
from api.web_auth import render_page, see_other
from engine import Prospect, Selection, Selector, parse_prospect
from tracker.documents import store_document
from tracker.models import Prospect as ProspectRow
from tracker.precall import precall, totals
from tracker.prospects import (
    create_prospect,
    find_prospect,
    list_prospects,
    prospect_documents,
    update_prospect,
)
from tracker.users import UserInfo

MAX_SEARCH = 200


async def _selected(
    runtime: Runtime, key: str, user: UserInfo
) -> tuple[Selector, ProspectRow, Prospect, Selection, dt.date]:
    """The engine's selection today for a prospect the user may see: what the preview shows
    and what generating starts from."""
    selector = selector_of(runtime)
    row = await _owned_prospect(runtime, key, user)
    prospect = parse_prospect(row.profile, where="prospect")
    as_of = dt.date.today()
    learned = await engagement(runtime, selector, prospect, for_pages(runtime))
    selection = await building.select(selector, prospect, as_of, learned)
    return selector, row, prospect, selection, as_of


async def _owned_prospect(
    runtime: Runtime, key: str, user: UserInfo, change: bool = False
) -> ProspectRow:
    """The prospect, if the user may see it (or, with `change`, edit it: its owner or an
    admin, as for documents and links)."""
    async with runtime.session() as session:
        row = await find_prospect(session, key)
    if row is None:
        raise NotFoundException(f"no prospect {key!r}")
    permit_owner(user, row.owner_user_id, change)
    return row


def form_values(profile: Mapping[str, Any], facets: Iterable[str]) -> dict[str, str]:
    """A stored profile as the prospect form's fields: what `prospect_profile` reads back."""
    contact = profile.get("contact")
    contact = contact if isinstance(contact, Mapping) else {}
    values = {name: str(profile.get(name) or "") for name in ("company", "needs", *facets)}
    values.update({f"contact_{f}": str(contact.get(f) or "") for f in CONTACT_FIELDS})
    return values


def _posted(
    runtime: Runtime, data: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any], dict[str, str]]:
    """The prospect form as posted, the profile it makes, and what is wrong per field."""
    form = fields.form_text(data)
    profile, errors = prospect_profile(form, selector_of(runtime).indexed.library.facet_values())
    return form, profile, errors


class ProspectController(Controller):
    path = "/prospects"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def index(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
        q: FromQuery[str] = "",
    ) -> Response[str]:
        search = q.strip()[:MAX_SEARCH]
        owner = None if sees_everything(user) else user.id
        async with runtime.session() as session:
            rows = await list_prospects(session, owner, search)
        return render_page(
            request,
            "prospects.html",
            user=user,
            library=runtime.workspace.selector.indexed.library
            if runtime.workspace.selector
            else None,
            prospects=rows,
            search=search,
        )

    @get("/new", media_type=MediaType.HTML)
    async def new(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        return self._form(request, runtime, user, {}, {})

    @post("/new", media_type=MediaType.HTML)
    async def create(
        self,
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        form, profile, errors = _posted(runtime, data)
        if errors:
            return self._form(request, runtime, user, form, errors, status_code=400)
        async with runtime.session() as session:
            row = await create_prospect(session, profile, user.id)
            await session.commit()
        return see_other(f"/prospects/{row.key}/preview")

    @get("/{key:str}/edit", media_type=MediaType.HTML)
    async def edit(
        self,
        key: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        row = await _owned_prospect(runtime, key, user, change=True)
        facets = selector_of(runtime).indexed.library.facet_values()
        values = form_values(row.profile, facets)
        return self._form(request, runtime, user, values, {}, row=row)

    @post("/{key:str}/edit", media_type=MediaType.HTML)
    async def update(
        self,
        key: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        row = await _owned_prospect(runtime, key, user, change=True)
        form, profile, errors = _posted(runtime, data)
        if errors:
            return self._form(request, runtime, user, form, errors, status_code=400, row=row)
        async with runtime.session() as session:
            stored = await find_prospect(session, key)
            if stored is None:  # deleted meanwhile
                raise NotFoundException(f"no prospect {key!r}")
            await update_prospect(session, stored, profile)
            await session.commit()
        return see_other(f"/prospects/{key}/preview")

    def _form(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        user: UserInfo,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
        row: ProspectRow | None = None,
    ) -> Response[str]:
        """The prospect form: a new prospect's, or with `row` the edit form of that one."""
        library = selector_of(runtime).indexed.library
        return render_page(
            request,
            "prospect_new.html",
            user=user,
            library=library,
            facets=library.facet_values(),
            values=values,
            errors=errors,
            row=row,
            status_code=status_code,
        )

    @get("/{key:str}/preview", media_type=MediaType.HTML)
    async def preview(
        self,
        key: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        selector, row, prospect, selection, as_of = await _selected(runtime, key, user)
        deal = await outcome_form(runtime, row, user)
        return self._preview(request, user, selector, row, prospect, selection, as_of, deal=deal)

    @get("/{key:str}/before-the-call", media_type=MediaType.HTML)
    async def before_the_call(
        self,
        key: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        """Every document made for the prospect that the user may see, newest first, each
        with its own pre-call report, under one line across them all."""
        row = await _owned_prospect(runtime, key, user)
        maker = None if sees_everything(user) else user.id
        async with runtime.session() as session:
            documents = await prospect_documents(session, row.id, maker)
            reports = [await precall(session, document.id) for document in documents]
        local = LocalTime(user.time_zone)
        return render_page(
            request,
            "prospect_precall.html",
            user=user,
            row=row,
            items=[(d, r, timeline(r, local)) for d, r in zip(documents, reports, strict=True)],
            totals=totals(reports),
            duration=duration,
        )

    @post("/{key:str}/generate", media_type=MediaType.HTML)
    async def generate(
        self,
        key: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        selector, row, prospect, selection, as_of = await _selected(runtime, key, user)
        rep = rep_of(user)
        try:
            form = fields.form_text(data)
            swapped, swaps = apply_swaps(selection, choices_of(form), rep.name or user.email)
        except SwapError as exc:
            deal = await outcome_form(runtime, row, user)
            return self._preview(
                request, user, selector, row, prospect, selection, as_of, str(exc), 400, deal
            )
        built = await building.render(
            selector, swapped, prospect, as_of, rep, runtime.settings.viewer_notice
        )
        stored = runtime.library
        assert stored is not None  # selector_of checked it
        async with runtime.session() as session:
            document = await store_document(
                session,
                built.document,
                stored.id,
                stored.versions,
                built.files,
                None,
                unanswered=built.unanswered,
            )
            document.created_by_user_id = user.id
            document.swaps = swaps
            await session.commit()
        return see_other(f"/documents/{document.id}")

    def _preview(
        self,
        request: Request[Any, Any, Any],
        user: UserInfo,
        selector: Selector,
        row: ProspectRow,
        prospect: Prospect,
        selection: Selection,
        as_of: dt.date,
        message: str = "",
        status_code: int = 200,
        deal: OutcomeForm | None = None,
    ) -> Response[str]:
        """The preview, with the deal outcome form (`deal`) under it."""
        library = selector.indexed.library
        return render_page(
            request,
            "preview.html",
            user=user,
            library=library,
            row=row,
            prospect=prospect,
            selection=selection,
            as_of=as_of.isoformat(),
            titles=library.titles,
            slot_titles={s.id: s.title for s in library.slots},
            section_field=SECTION_FIELD,
            message=message,
            deal=deal,
            status_code=status_code,
        )
