"""The Litestar application: `create_app(settings, library)` builds one with its own state."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from api.controllers.home import HomeController
from api.controllers.selections import SelectionController
from api.errors import EXCEPTION_HANDLERS
from api.settings import Settings
from api.state import Workspace
from engine import Prospect
from engine.embed import Progress

MAX_BODY = 1_000_000  # a prospect profile is a few kB; anything near this is not one


def create_app(
    settings: Settings,
    library: Path | None = None,
    prospects: tuple[Prospect, ...] = (),
    on_progress: Progress | None = None,
) -> Litestar:
    """Index `library` (if given) and return an app serving it; settings are read by the caller."""
    workspace = Workspace.open(settings, library, prospects, on_progress)
    return Litestar(
        route_handlers=[HomeController, SelectionController],
        dependencies={
            "workspace": Provide(lambda: workspace, use_cache=True, sync_to_thread=False)
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(title="pitchmap", version="0.1.0", path="/schema"),
        request_max_body_size=MAX_BODY,
    )
