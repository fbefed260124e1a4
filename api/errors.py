"""The engine's errors mapped to HTTP answers in one place: bad input is a 4xx naming the field."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException

from engine import InputError, PitchmapError, Problem


class NoLibraryError(PitchmapError):
    """The server has no active library, so nothing can be selected."""


def bad_field(field: str, message: str) -> InputError:
    return InputError([Problem("request", field, message)])


def input_error(request: Request[Any, Any, Any], exc: InputError) -> Response[object]:
    problems = [{"field": p.field, "message": p.message, "where": p.file} for p in exc.problems]
    detail = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
    return Response(
        {"detail": detail, "problems": problems}, status_code=400, media_type=MediaType.JSON
    )


def no_library(request: Request[Any, Any, Any], exc: NoLibraryError) -> Response[object]:
    detail = "no library is loaded: start the server with `pitchmap serve --library DIR`"
    return Response({"detail": detail}, status_code=409, media_type=MediaType.JSON)


EXCEPTION_HANDLERS: dict[type[Exception], object] = {
    InputError: input_error,
    NoLibraryError: no_library,
}
__all__ = ["EXCEPTION_HANDLERS", "HTTPException", "NoLibraryError", "bad_field"]
