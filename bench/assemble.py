"""Assembly latency: one prospect's deck, proposal and web page, warm, beside the cost of
saving the bare brand masters in the same run.

The prospect is the first demo prospect of the bastion fixtures with its selection made
once; each round personalises the selection, renders the three formats and serialises them.
The floor opens and saves the shipped master .pptx and template .docx unchanged.
Last line: `assemble p50_ms=<x> floor_ms=<y>`.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from docx import Document
from pptx import Presentation

from bench.common import AS_OF, FIXTURES
from engine import Embedder, Selector, index_library, load_library, load_prospects
from engine.assemble import Rep, assemble, render_html
from engine.assemble.docx import render_proposal
from engine.assemble.masters import master_bytes, template_bytes
from engine.assemble.pptx import render_deck

ROUNDS = 30


def p50_ms(run: Callable[[], object]) -> float:
    run()
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    data_dir = Path(os.environ.get("PITCHMAP_DATA_DIR", ".pitchmap"))
    embedder = Embedder(os.environ.get("PITCHMAP_MODEL") or None, cache_dir=data_dir)
    folder = FIXTURES / "bastion"
    library = load_library(folder / "library")
    prospect = load_prospects(folder / "prospects")[0]
    selection = Selector(index_library(library, embedder, data_dir), embedder).select(
        prospect, AS_OF
    )
    rep = Rep("Sam Rivera", "sam@bastion.example", "Account executive")

    def three_formats() -> None:
        document = assemble(library, selection, prospect, AS_OF, rep)
        render_deck(document)
        render_proposal(document)
        render_html(document)

    def bare_masters() -> None:
        Presentation(io.BytesIO(master_bytes(None)[1])).save(io.BytesIO())
        Document(io.BytesIO(template_bytes(None)[1])).save(io.BytesIO())

    ours, floor = p50_ms(three_formats), p50_ms(bare_masters)
    print(f"prospect {prospect.id}: {len(selection.sections)} sections")
    print(f"deck + proposal + web page p50 {ours:.1f} ms; bare masters saved p50 {floor:.1f} ms")
    print(f"= {ours / floor:.1f}x the floor")
    print(f"assemble p50_ms={ours:.1f} floor_ms={floor:.1f}")


if __name__ == "__main__":
    main()
