"""Turning a prospect into a stored document: select, assemble, render every format once.

Selection and rendering are CPU work, so they run on a worker thread, one build at a time:
the embedder and the renderers are not meant to be shared by threads, and the event loop
keeps answering heartbeats meanwhile. The API builds in one step; the rep's pages select
first, let the rep swap blocks, then render that selection.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api import fields
from engine import Prospect, Selection, Selector, UnansweredNeed, parse_prospect
from engine.assemble import AssembledDocument, Rep, assemble, render_html
from engine.assemble.formats import renderer
from engine.assemble.html import Viewer
from engine.learning import Engagement

VIEWER_SCRIPT = "/static/viewer.js"

build_lock = threading.Lock()


@dataclass(frozen=True)
class Built:
    document: AssembledDocument
    files: Mapping[str, bytes]  # pptx, docx, html and the viewer page
    unanswered: tuple[UnansweredNeed, ...]  # kept with the document for marketing's gaps


def requested_prospect(body: Mapping[str, Any]) -> Prospect:
    """The profile in a request body's `prospect` field. The engine names a profile that is no
    mapping at all `file` (it reads profiles from files), so that refusal is made here, where
    the field the caller got wrong is known."""
    profile = fields.body_object(body.get("prospect"), "prospect")
    return parse_prospect(profile, where="prospect")


async def select(
    selector: Selector,
    prospect: Prospect,
    as_of: dt.date,
    engagement: Engagement | None = None,
) -> Selection:
    """The engine's selection; with `engagement` (opt-in), informed by recorded reading."""
    return await asyncio.to_thread(_select, selector, prospect, as_of, engagement)


async def render(
    selector: Selector,
    selection: Selection,
    prospect: Prospect,
    as_of: dt.date,
    rep: Rep,
    notice: str,
) -> Built:
    """Assemble and render every format of `selection`; raises InputError (placeholder
    problems) before anything is stored."""
    return await asyncio.to_thread(_render, selector, selection, prospect, as_of, rep, notice)


async def build_document(
    selector: Selector,
    prospect: Prospect,
    as_of: dt.date,
    rep: Rep,
    notice: str,
    engagement: Engagement | None = None,
) -> Built:
    """The selection as chosen by the engine, rendered."""
    selection = await select(selector, prospect, as_of, engagement)
    return await render(selector, selection, prospect, as_of, rep, notice)


def _select(
    selector: Selector, prospect: Prospect, as_of: dt.date, engagement: Engagement | None
) -> Selection:
    with build_lock:
        return selector.select(prospect, as_of, engagement)


def _render(
    selector: Selector,
    selection: Selection,
    prospect: Prospect,
    as_of: dt.date,
    rep: Rep,
    notice: str,
) -> Built:
    with build_lock:
        document = assemble(selector.indexed.library, selection, prospect, as_of, rep)
        files = {name: renderer(name)(document) for name in ("pptx", "docx", "html")}
        viewer = render_html(document, Viewer(script=VIEWER_SCRIPT, notice=notice))
        files["viewer"] = viewer.encode("utf-8")
    return Built(document, files, selection.unanswered_needs)
