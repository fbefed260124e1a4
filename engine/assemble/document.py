"""The assembled document: a selection made concrete for one prospect, built once and
rendered three ways (deck, proposal, web page) by the renderers beside this module.

Every text here is final: placeholders are filled, so renderers only lay out and escape.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from engine.markdown import Node, plain_text
from engine.prospect import Prospect

WORDS_PER_MINUTE = 250
MIN_READING_MS = 2_000


@dataclass(frozen=True)
class Rep:
    """The person generating the document (the `rep.*` placeholders)."""

    name: str | None = None
    email: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class AssembledSection:
    """One chosen block, personalised, in its slot."""

    slot: str
    slot_title: str
    block_id: str
    block_version: str  # the block's content hash: which version of the block was used
    title: str
    nodes: tuple[Node, ...]
    why: str
    score: float

    @property
    def reading_ms(self) -> int:
        """How long reading the section takes at 250 words a minute, two seconds at least:
        a visit whose time on the section reaches it read it rather than scrolled past."""
        words = len(self.title.split()) + len(plain_text(self.nodes).split())
        return max(MIN_READING_MS, round(words * 60_000 / WORDS_PER_MINUTE))


@dataclass(frozen=True)
class AssembledDocument:
    prospect: Prospect
    library_name: str
    title: str
    as_of: dt.date
    rep: Rep
    sections: tuple[AssembledSection, ...]
    assets: Path | None = None  # the library's assets/ folder, if it has one
