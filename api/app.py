"""The Litestar application: `create_app(settings, library)` builds one with its own state."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from api.auth import authenticate
from api.controllers.account import AccountController
from api.controllers.admin import ErasureController, KeyController
from api.controllers.admin_users import AdminUserController
from api.controllers.block_page import BlockPageController
from api.controllers.blocks import BlockController
from api.controllers.content import ContentController
from api.controllers.documents import DocumentController
from api.controllers.health import ReadinessController
from api.controllers.home import HomeController
from api.controllers.influence import BlockInfluenceController
from api.controllers.links import DocumentLinkController, LinkController
from api.controllers.marketing import MarketingController
from api.controllers.outcomes import OutcomeController
from api.controllers.precall import PreCallController
from api.controllers.prospect_outcome import ProspectOutcomeController
from api.controllers.prospects import ProspectController
from api.controllers.regenerate import RegenerationController
from api.controllers.rep_documents import RepDocumentController
from api.controllers.selections import SelectionController
from api.controllers.session import SessionController
from api.controllers.viewer import ViewerController
from api.errors import EXCEPTION_HANDLERS, document_errors
from api.logs import logging_config
from api.metrics import MetricsController
from api.outage import OUTAGE_HANDLERS
from api.runtime import Runtime
from api.security_headers import security_headers
from api.settings import Settings
from api.state import Workspace
from api.web_auth import (
    SignInRequired,
    csrf_config,
    load_secret,
    require_user,
    signed_in,
    to_sign_in,
)
from engine import Prospect
from engine.embed import Progress
from tracker.database import migrate
from tracker.users import decoy_hash

MAX_BODY = 1_000_000  # a prospect profile is a few kB; anything near this is not one


def create_app(
    settings: Settings,
    library: Path | None = None,
    prospects: tuple[Prospect, ...] = (),
    on_progress: Progress | None = None,
) -> Litestar:
    """Migrate the database, index `library` (if given) and return an app serving it; the
    library is stored (keeping earlier versions) when the app starts."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.database_url)
    workspace = Workspace.open(settings, library, prospects, on_progress)
    runtime = Runtime(settings, workspace)
    secret = load_secret(settings.data_dir)
    handlers: dict[type[Exception], object] = {
        **EXCEPTION_HANDLERS,
        **OUTAGE_HANDLERS,  # after them: a database outage is a 503, not their 500
        SignInRequired: to_sign_in,
    }
    static = files("templates") / "static"
    return Litestar(
        route_handlers=[
            HomeController,
            SessionController,
            SelectionController,
            ProspectController,
            RepDocumentController,
            PreCallController,
            MarketingController,
            ContentController,
            BlockPageController,
            DocumentController,
            RegenerationController,
            DocumentLinkController,
            LinkController,
            BlockController,
            BlockInfluenceController,
            OutcomeController,
            ProspectOutcomeController,
            KeyController,
            ErasureController,
            ViewerController,
            AdminUserController,
            AccountController,
            ReadinessController,
            MetricsController,
            create_static_files_router(
                path="/static", directories=[str(static)], include_in_schema=False
            ),
        ],
        dependencies={
            "workspace": Provide(lambda: workspace, use_cache=True, sync_to_thread=False),
            "runtime": Provide(lambda: runtime, use_cache=True, sync_to_thread=False),
            "caller": Provide(authenticate),
            "signed_in": Provide(signed_in),
            "user": Provide(require_user),
        },
        lifespan=[runtime.lifespan],
        # The decoy hash that unknown emails are checked against is made before the first
        # sign-in, so that one takes no longer than any other.
        on_startup=[decoy_hash, document_errors],
        exception_handlers=handlers,  # type: ignore[arg-type]
        logging_config=logging_config(),
        csrf_config=csrf_config(settings, secret),
        openapi_config=OpenAPIConfig(
            title="pitchmap",
            version="0.1.0",
            path="/schema",
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(type="http", scheme="bearer", description="API key")
                }
            ),
            security=[{"apiKey": []}],
            # The schema as JSON only: the UIs Litestar offers load their scripts from a CDN.
            render_plugins=[JsonRenderPlugin()],
        ),
        request_max_body_size=MAX_BODY,
        before_send=[security_headers(settings)],
    )
