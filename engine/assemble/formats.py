"""The formats a document is rendered to, each by its own renderer, imported on first use so
python-pptx and python-docx load only when their format is asked for."""

from __future__ import annotations

from collections.abc import Callable

from engine.assemble.document import AssembledDocument
from engine.assemble.html import render_html

Renderer = Callable[[AssembledDocument], bytes]
# The file each format is written to (contract §3: <out>/<prospect id>/<file>).
FILE_NAMES = {"pptx": "deck.pptx", "docx": "proposal.docx", "html": "index.html"}


def renderer(name: str) -> Renderer:
    if name == "pptx":
        from engine.assemble.pptx import render_deck

        deck: Renderer = render_deck
        return deck
    if name == "docx":
        from engine.assemble.docx import render_proposal

        proposal: Renderer = render_proposal
        return proposal
    if name == "html":
        return lambda document: render_html(document).encode("utf-8")
    raise ValueError(f"unknown format {name!r}; known: {', '.join(FILE_NAMES)}")
