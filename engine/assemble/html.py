"""The assembled document as one self-contained web page, readable on a phone or a desk.

The page is sent to prospects, so it must be safe to open and must not phone home: every
text is escaped by the template (autoescape), only http, https and mailto links survive,
and images are embedded as data: URIs, and only the pictures the deck and the proposal would
take (`safety.resolve_picture`), WebP included. The stylesheet is inlined, so the page
requests nothing.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from engine.assemble.document import AssembledDocument, AssembledSection
from engine.assemble.safety import WEB_FORMATS, resolve_picture, safe_href
from engine.markdown import (
    Heading,
    Image,
    ListBlock,
    ListItem,
    Node,
    Paragraph,
    Quote,
    Spans,
    Table,
)

# Base64 makes a picture a third larger, and the stored page carries it on every visit.
MAX_IMAGE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class _Item:
    """A list item with the items nested under it, as HTML lists need them."""

    spans: Spans
    children: tuple[_Item, ...] = ()


@dataclass(frozen=True)
class _List:
    ordered: bool
    items: tuple[_Item, ...]


@dataclass(frozen=True)
class _Picture:
    uri: str
    alt: str


@dataclass(frozen=True)
class _Part:
    """One piece of a section's body, tagged with its kind so the template can lay it out."""

    kind: str  # paragraph | heading | quote | list | table | picture
    node: Paragraph | Heading | Quote | Table | _List | _Picture


@dataclass(frozen=True)
class _SectionView:
    section: AssembledSection
    parts: tuple[_Part, ...]


@dataclass(frozen=True)
class Viewer:
    """What turns the page into a tracked share-link page: the reading script (same origin,
    never inline, so the page's CSP can forbid inline script) and the notice that tells the
    reader their reading is measured."""

    script: str
    notice: str


# Where the viewer puts per-link additions (download links) into the stored page.
VIEWER_SLOT = "<!--pitchmap:link-->"


def render_html(doc: AssembledDocument, viewer: Viewer | None = None) -> str:
    """The whole page as text; it needs no other file to display (the viewer's own script
    aside)."""
    sections = [_SectionView(s, _parts(s.nodes, doc.assets)) for s in doc.sections]
    date = doc.as_of
    return (
        _environment()
        .get_template("document.html")
        .render(
            doc=doc,
            sections=sections,
            date=f"{date.day} {date:%B} {date.year}",
            viewer=viewer,
            viewer_slot=VIEWER_SLOT,
        )
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("templates", "web"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _parts(body: Sequence[Node], assets: Path | None) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    for node in body:
        if isinstance(node, Paragraph | Heading | Quote):
            kind = type(node).__name__.lower()
            parts.append(_Part(kind, dataclasses.replace(node, spans=_links(node.spans))))
        elif isinstance(node, ListBlock):
            parts.append(_Part("list", _List(node.ordered, _nest(node.items))))
        elif isinstance(node, Table):
            parts.append(_Part("table", _table(node)))
        else:
            uri = _image_uri(node, assets)
            if uri is not None:
                parts.append(_Part("picture", _Picture(uri, node.alt)))
    return tuple(parts)


def _links(spans: Spans) -> Spans:
    """Keep a link only when it leads to a web page or a mail address (the same rule as the
    deck's and the proposal's); others become plain text."""
    return tuple(dataclasses.replace(s, href=safe_href(s.href)) for s in spans)


def _nest(items: Sequence[ListItem]) -> tuple[_Item, ...]:
    """Markdown's flat items with levels, back into the nesting HTML lists need: an item
    owns the items after it that sit deeper than it does."""
    nested: list[_Item] = []
    start = 0
    while start < len(items):
        end = start + 1
        while end < len(items) and items[end].level > items[start].level:
            end += 1
        nested.append(_Item(_links(items[start].spans), _nest(items[start + 1 : end])))
        start = end
    return tuple(nested)


def _table(table: Table) -> Table:
    header = tuple(_links(cell) for cell in table.header)
    rows = tuple(tuple(_links(cell) for cell in row) for row in table.rows)
    return Table(header, rows)


def _image_uri(image: Image, assets: Path | None) -> str | None:
    """A data: URI for a picture the deck and the proposal would embed too (size and format
    decided from its header before a byte more is read), or None: then nothing is shown."""
    picture = resolve_picture(assets, image.src, WEB_FORMATS)
    if picture is None:
        return None
    try:
        with picture.path.open("rb") as file:
            content = file.read(MAX_IMAGE_BYTES + 1)
    except OSError:
        return None
    if len(content) > MAX_IMAGE_BYTES:
        return None
    return f"data:image/{picture.format};base64,{base64.b64encode(content).decode('ascii')}"
