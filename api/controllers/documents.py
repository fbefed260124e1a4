"""Documents: made from a prospect profile, stored with their files, downloaded, reported on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from api import fields
from api.auth import Action, permit, permit_owner
from api.building import build_document, requested_prospect
from api.engagement import engagement, requested
from api.errors import NoLibraryError
from api.openapi_media import also_sent
from api.runtime import Runtime
from engine import Selector
from engine.assemble import Rep
from tracker.csv_export import document_links_csv, document_report_csv
from tracker.documents import document_file, store_document
from tracker.keys import KeyInfo
from tracker.models import BlockVersion, Document, DocumentSection
from tracker.reports import DocumentReport, document_report

# What each download is called and served as.
CSV = "text/csv"  # Litestar adds the charset
DOWNLOADS = {
    "deck.pptx": (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    "proposal.docx": (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "index.html": ("html", "text/html"),  # Litestar adds the charset
}


def selector_of(runtime: Runtime) -> Selector:
    if runtime.workspace.selector is None or runtime.library is None:
        raise NoLibraryError
    return runtime.workspace.selector


async def load_document(session: AsyncSession, document_id: str) -> Document:
    """The document with its sections and their block versions; 404 when there is none."""
    document = await session.scalar(
        select(Document)
        .where(Document.id == document_id)
        .options(
            selectinload(Document.sections)
            .selectinload(DocumentSection.block_version)
            .selectinload(BlockVersion.block)
        )
    )
    if document is None:
        raise NotFoundException(f"no document {document_id!r}")
    return document


async def owned_document(
    session: AsyncSession, document_id: str, caller: KeyInfo, change: bool = False
) -> Document:
    """The document, if it exists and the key may see it (or, with `change`, share it)."""
    document = await load_document(session, document_id)
    permit_owner(caller, document.created_by_key_id, change)
    return document


def document_view(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "title": document.title,
        "as_of": document.as_of.isoformat(),
        "created_at": document.created_at.isoformat(),
        "sections": [
            {
                "slot": s.slot,
                "block_id": s.block_version.block.key,
                "title": s.title,
                "why": s.why,
                "block_version": s.block_version.number,
            }
            for s in document.sections
        ],
        "files": [f"/api/documents/{document.id}/{name}" for name in DOWNLOADS],
    }


async def readable_report(
    document_id: FromPath[str], runtime: NamedDependency[Runtime], caller: NamedDependency[KeyInfo]
) -> DocumentReport:
    """The document's report, once the caller may read it."""
    async with runtime.session() as session:
        await owned_document(session, document_id, caller)
        return await document_report(session, document_id)


_REPORT = {"report": Provide(readable_report)}


class DocumentController(Controller):
    path = "/api/documents"
    tags = ("documents",)

    @post(
        "/",
        status_code=201,
        summary="Make a document for a prospect: select, assemble and store deck, proposal, page",
    )
    async def create(
        self,
        data: JSONBody[dict[str, Any]],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """Body: {"prospect": {<profile, contract section 2>}, "as_of": "YYYY-MM-DD"?,
        "rep": {"name", "email", "title"}?, "learning": true | {"seed": int}?}. Without `rep`,
        rep.name is the key's name and the rest comes from PITCHMAP_REP_NAME /
        PITCHMAP_REP_EMAIL. `learning` opts in to engagement-informed selection."""
        permit(caller, Action.CREATE_DOCUMENTS)
        selector = selector_of(runtime)
        body = fields.body_object(data)
        fields.only(body, ("prospect", "as_of", "rep", "learning"))
        prospect = requested_prospect(body)
        as_of = fields.date(body, "as_of", dt.date.today())
        rep = _rep(body.get("rep"), caller, runtime)
        learned = await engagement(runtime, selector, prospect, requested(body))
        notice = runtime.settings.viewer_notice
        built = await build_document(selector, prospect, as_of, rep, notice, learned)
        stored = runtime.library
        assert stored is not None  # selector_of checked it
        async with runtime.session() as session:
            row = await store_document(
                session,
                built.document,
                stored.id,
                stored.versions,
                built.files,
                caller.id,
                unanswered=built.unanswered,
            )
            await session.commit()
        return {
            "id": row.id,
            "title": row.title,
            "sections": [
                {"slot": s.slot, "block_id": s.block_id, "title": s.title, "why": s.why}
                for s in built.document.sections
            ],
            "files": [f"/api/documents/{row.id}/{name}" for name in DOWNLOADS],
        }

    @get("/{document_id:str}", summary="A document: its sections and the versions they used")
    async def show(
        self,
        document_id: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        async with runtime.session() as session:
            return document_view(await owned_document(session, document_id, caller))

    @get(
        "/{document_id:str}/{name:str}",
        summary="A document's file: deck.pptx, proposal.docx or index.html",
        media_type=DOWNLOADS["deck.pptx"][1],
        operation_class=also_sent(
            200,
            "The deck, the proposal or the web page, as a file",
            DOWNLOADS["proposal.docx"][1],
            DOWNLOADS["index.html"][1],
        ),
    )
    async def download(
        self,
        document_id: FromPath[str],
        name: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> Response[bytes]:
        if name not in DOWNLOADS:
            raise NotFoundException(f"no file {name!r}; files: {', '.join(DOWNLOADS)}")
        file_format, media_type = DOWNLOADS[name]
        async with runtime.session() as session:
            await owned_document(session, document_id, caller)
            content = await document_file(session, document_id, file_format)
        if content is None:
            raise NotFoundException(f"document {document_id!r} has no {name}")
        return attachment(content, name, media_type)

    @get(
        "/{document_id:str}/report",
        dependencies=_REPORT,
        summary="Engagement with one document over all its links",
    )
    async def report(self, report: NamedDependency[DocumentReport]) -> dict[str, Any]:
        return report.to_dict()

    @get(
        "/{document_id:str}/report.csv",
        dependencies=_REPORT,
        media_type=CSV,
        summary="The report as CSV",
    )
    async def report_csv(self, report: NamedDependency[DocumentReport]) -> Response[str]:
        name = f"document-{report.document_id}.csv"
        return csv_response(document_report_csv(report), name)

    @get(
        "/{document_id:str}/links.csv",
        media_type=CSV,
        dependencies=_REPORT,
        summary="The document's links with their sessions, as CSV",
    )
    async def links_csv(self, report: NamedDependency[DocumentReport]) -> Response[str]:
        name = f"document-{report.document_id}-links.csv"
        return csv_response(document_links_csv(report), name)


def _rep(raw: object, caller: KeyInfo, runtime: Runtime) -> Rep:
    settings = runtime.settings
    if raw is None:
        return Rep(name=caller.name or settings.rep_name, email=settings.rep_email)
    data: Mapping[str, Any] = fields.body_object(raw, "rep")
    fields.only(data, ("name", "email", "title"))
    address = fields.text(data, "email")
    return Rep(
        name=fields.text(data, "name") or caller.name or settings.rep_name,
        email=fields.email(address, "rep.email") if address else settings.rep_email,
        title=fields.text(data, "title"),
    )


def attachment(content: bytes, name: str, media_type: str) -> Response[bytes]:
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


def csv_response(content: str, name: str) -> Response[str]:
    return Response(
        content,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
