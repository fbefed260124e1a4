"""The prospect's free-text needs cut into separate statements, each matched on its own.

One embedding of a whole paragraph blurs several pains into an average that matches none of
them well; one per statement lets a block that answers one need precisely win on it, and lets
the gap report quote the exact words nobody answered.
"""

from __future__ import annotations

import re

_BREAK = re.compile(r"(?<=[.!?;])\s+|\n\s*[-*•]\s*|\n{2,}|\s*\n\s*(?=[A-Z0-9])")
_MIN_WORDS = 3


def split_needs(text: str) -> tuple[str, ...]:
    """Sentences (and bullet items) of the needs text; fragments too short to mean much are
    joined to the statement before them."""
    needs: list[str] = []
    for piece in _BREAK.split(text.strip()):
        piece = " ".join(piece.replace("•", " ").split()).strip(" -*")
        if not piece:
            continue
        if needs and len(piece.split()) < _MIN_WORDS:
            needs[-1] = f"{needs[-1]} {piece}"
        else:
            needs.append(piece)
    return tuple(needs)
