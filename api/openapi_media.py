"""OpenAPI declarations Litestar's decorators cannot make alone."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema


def also_sent(status: int, description: str, *media_types: str) -> type[Operation]:
    """An operation whose `status` answer also comes as each of `media_types` (text or bytes),
    besides the one Litestar declares, described as `description`: a ResponseSpec holds one
    media type, and the schema must name every content type a client can receive."""

    @dataclass
    class AlsoSent(Operation):
        def __post_init__(self) -> None:
            response = (self.responses or {})[str(status)]
            assert isinstance(response, OpenAPIResponse)
            text = Schema(type=OpenAPIType.STRING)
            extra = {media_type: OpenAPIMediaType(schema=text) for media_type in media_types}
            response.content = (response.content or {}) | extra
            response.description = description

    return AlsoSent
