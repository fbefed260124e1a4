"""Document assembly: a selection made concrete for one prospect, personalised once and
rendered by each format's renderer (the web page here; the deck and the proposal renderers
are imported from their own modules, so python-pptx and python-docx load only when needed).
"""

from engine.assemble.compose import assemble
from engine.assemble.document import AssembledDocument, AssembledSection, Rep
from engine.assemble.html import render_html
from engine.assemble.personalize import FilledBlock, Placeholders, fill

__all__ = [
    "AssembledDocument",
    "AssembledSection",
    "FilledBlock",
    "Placeholders",
    "Rep",
    "assemble",
    "fill",
    "render_html",
]
