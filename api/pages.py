"""Server-rendered pages from the Jinja templates shipped in `templates/pages/`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import MediaType, Response


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("templates", "pages"),
        autoescape=select_autoescape(default=True),
    )


def render(template: str, status_code: int = 200, **context: Any) -> Response[str]:
    if "library" in context:  # pages about the library name it, or say there is none
        library = context["library"]
        context.setdefault("library_name", library.name if library is not None else "no library")
    html = _environment().get_template(template).render(**context)
    return Response(html, media_type=MediaType.HTML, status_code=status_code)
