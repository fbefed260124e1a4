"""Building the assembled document: the one place a selection becomes the text a prospect
reads, so the deck, the proposal and the web page can never disagree."""

from __future__ import annotations

import datetime as dt

from engine.assemble.document import AssembledDocument, AssembledSection, Rep
from engine.assemble.personalize import Placeholders, fill
from engine.library import Library
from engine.prospect import Prospect
from engine.select import Selection


def assemble(
    library: Library, selection: Selection, prospect: Prospect, as_of: dt.date, rep: Rep
) -> AssembledDocument:
    """The selection's blocks, personalised, in selection (message-map) order.

    Raises InputError listing every placeholder problem of every chosen block.
    """
    if selection.prospect != prospect.id:
        raise ValueError(f"selection for {selection.prospect!r} given for {prospect.id!r}")
    blocks = [library.block(s.block_id) for s in selection.sections]
    filled = fill(blocks, Placeholders(prospect, as_of, rep), library.root / "blocks")
    sections = tuple(
        AssembledSection(
            slot=section.slot,
            slot_title=library.message_map.slot(section.slot).title,
            block_id=block.id,
            block_version=block.content_hash,
            title=text.title,
            nodes=text.nodes,
            why=section.why,
            score=section.score,
        )
        for section, block, text in zip(selection.sections, blocks, filled, strict=True)
    )
    assets = library.root / "assets"
    return AssembledDocument(
        prospect=prospect,
        library_name=library.name,
        title=f"{library.name} for {prospect.company}",
        as_of=as_of,
        rep=rep,
        sections=sections,
        assets=assets if assets.is_dir() else None,
    )
