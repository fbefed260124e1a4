"""The start page: what the library holds, the demo prospects, and a new-prospect form."""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency

from api.pages import render
from api.state import Workspace


class HomeController(Controller):
    @get("/", media_type=MediaType.HTML, include_in_schema=False)
    async def home(self, workspace: NamedDependency[Workspace]) -> Response[str]:
        if workspace.selector is None:
            return render("home.html", library=None, blocks=0, slots=[], facets={}, prospects=())
        library = workspace.selector.indexed.library
        facets = {
            facet: sorted({v for b in library.blocks for v in b.tags.get(facet, ())})
            for facet in library.facets()
        }
        return render(
            "home.html",
            library=library,
            blocks=len(library.blocks),
            slots=[s.title for s in library.slots],
            facets=facets,
            prospects=workspace.prospects,
        )

    @get("/health", summary="Liveness: the process answers")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}
