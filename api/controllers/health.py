"""Readiness for a load balancer or an orchestrator: may this worker be sent traffic now?

`/health` (api/controllers/home.py) says the process answers; `/ready` says it can do its
work: it has started (the library it was given stored, the background writers running) and
the database answers. A worker that is not ready answers 503 with the reason; nothing here
needs a key, and the answer names no host, address or credential.
"""

from __future__ import annotations

import asyncio
import os
from typing import Final

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.runtime import Runtime

DATABASE_TIMEOUT_S: Final = 2.0  # a probe must answer in time even when the database does not


class Readiness(msgspec.Struct, omit_defaults=True):
    status: str  # "ready" or "unavailable"
    worker: int  # the process that answered: each worker answers for itself
    library: str | None = None  # the library served, if the server was given one
    reason: str | None = None  # why not ready


class ReadinessController(Controller):
    tags = ("operations",)

    @get(
        "/ready",
        summary="Readiness: started, library stored and the database answers",
        responses={503: ResponseSpec(Readiness, description="Not ready; `reason` says why")},
        security=[{}],  # probes carry no key
    )
    async def ready(self, runtime: NamedDependency[Runtime]) -> Response[Readiness]:
        reason = _not_started(runtime) or await _database_silent(runtime)
        selector = runtime.workspace.selector
        library = None if selector is None else selector.indexed.library.name
        if reason is not None:
            body = Readiness("unavailable", os.getpid(), library, reason)
            return Response(body, status_code=503, headers={"Cache-Control": "no-store"})
        return Response(
            Readiness("ready", os.getpid(), library), headers={"Cache-Control": "no-store"}
        )


def _not_started(runtime: Runtime) -> str | None:
    if runtime.sessions is None or runtime.ingestor is None:
        return "starting"
    if runtime.workspace.selector is not None and runtime.library is None:
        return "the library is not stored yet"
    return None


async def _database_silent(runtime: Runtime) -> str | None:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S), runtime.session() as session:
            await session.execute(text("SELECT 1"))
    except TimeoutError:
        return f"the database did not answer within {DATABASE_TIMEOUT_S:g} s"
    except (SQLAlchemyError, OSError) as exc:
        return f"the database does not answer ({type(exc).__name__})"
    return None
