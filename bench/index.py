"""Indexing throughput on a 10,000-block library against the raw model in the same run.

raw: the model alone encoding the same passages pitchmap embeds (every block's title,
paragraphs, list items and table rows), in one sentence-transformers call (batch 64).
pitchmap: `index_library` from an empty data folder (passage split, cache, faiss index,
save), then again on the unchanged library, which must embed nothing.
For reference it also prints the model encoding each block's whole text instead: passages
cost more model time than whole blocks (more, shorter sequences, nothing truncated at 256
tokens); that is the price of matching needs passage by passage.
Last line: `index blocks_per_s=<x> raw_per_s=<y> reembedded_unchanged=<n>`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.common import synthetic_library
from engine import Embedder, index_library, load_library
from engine.markdown import plain_text

BLOCKS = int(os.environ.get("BENCH_BLOCKS", "10000"))


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    embedder = Embedder(os.environ.get("PITCHMAP_MODEL") or None)
    embedder.encode_queries(["warm up the model"])
    with tempfile.TemporaryDirectory() as tmp:
        library = load_library(synthetic_library(Path(tmp) / "library", BLOCKS))
        n = len(library.blocks)
        whole = [f"{b.title}.\n{plain_text(b.nodes)}" for b in library.blocks]
        passages = list(dict.fromkeys(p for b in library.blocks for p in b.passages))
        raw = n / timed(lambda: embedder.model.encode(passages, batch_size=64))
        print(f"raw model on the passages: {raw:.1f} blocks/s ({len(passages)} passages)")
        whole_rate = n / timed(lambda: embedder.model.encode(whole, batch_size=64))
        print(f"raw model on whole block texts (reference): {whole_rate:.1f} blocks/s", flush=True)

        start = time.perf_counter()
        first = index_library(library, embedder, Path(tmp) / "data")
        ours = n / (time.perf_counter() - start)
        print(
            f"pitchmap index: {ours:.1f} blocks/s ({first.report.passages_embedded} passages), "
            f"{ours / raw:.2f}x raw",
            flush=True,
        )
        start = time.perf_counter()
        again = index_library(load_library(Path(tmp) / "library"), embedder, Path(tmp) / "data")
        print(f"re-index unchanged: {time.perf_counter() - start:.2f} s")
    print(
        f"index blocks_per_s={ours:.1f} raw_per_s={raw:.1f} "
        f"reembedded_unchanged={again.report.embedded}"
    )


if __name__ == "__main__":
    main()
