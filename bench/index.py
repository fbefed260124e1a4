"""Indexing throughput on a 10,000-block library against the raw model in the same run.

raw: the model alone (the same ONNX runtime session pitchmap uses) encoding exactly the
passages pitchmap embeds (every block's title, paragraphs, list items and table rows),
in batches of 64, longest first. pitchmap: `index_library` from an empty data folder
(passage split, cache, faiss index, save), then again on the unchanged library, which must
embed nothing. With BENCH_REFERENCE=1 it also prints sentence-transformers (torch) on the
same passages and on whole block texts (that doubles the run time).
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
from engine import Block, Embedder, index_library, load_library
from engine.backends import TorchBackend
from engine.markdown import plain_text

BLOCKS = int(os.environ.get("BENCH_BLOCKS", "10000"))


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        embedder = Embedder(os.environ.get("PITCHMAP_MODEL") or None, cache_dir=Path(tmp) / "m")
        embedder.encode_queries(["warm up the model"])
        library = load_library(synthetic_library(Path(tmp) / "library", BLOCKS))
        n = len(library.blocks)
        passages = list(dict.fromkeys(p for b in library.blocks for p in b.passages))
        ordered = sorted(passages, key=len, reverse=True)
        raw = n / timed(lambda: embedder.backend.encode(ordered, 64))
        print(f"raw model (onnx) on the passages: {raw:.1f} blocks/s ({len(passages)} passages)")

        start = time.perf_counter()
        first = index_library(library, embedder, Path(tmp) / "data")
        ours = n / (time.perf_counter() - start)
        print(f"pitchmap index: {ours:.1f} blocks/s = {ours / raw:.2f}x raw", flush=True)
        start = time.perf_counter()
        again = index_library(load_library(Path(tmp) / "library"), embedder, Path(tmp) / "data")
        print(
            f"re-index unchanged: {time.perf_counter() - start:.2f} s, "
            f"{again.report.embedded} blocks embedded"
        )

        if os.environ.get("BENCH_REFERENCE") == "1":
            reference(embedder, library.blocks, passages)
    print(
        f"index blocks_per_s={ours:.1f} raw_per_s={raw:.1f} "
        f"reembedded_unchanged={again.report.embedded} passages={first.report.passages_embedded}"
    )


def reference(embedder: Embedder, blocks: tuple[Block, ...], passages: list[str]) -> None:
    n = len(blocks)
    torch_model = TorchBackend(embedder.model_path)
    on_passages = n / timed(lambda: torch_model.encode(passages, 64))
    whole = [f"{b.title}.\n{plain_text(b.nodes)}" for b in blocks]
    on_whole = n / timed(lambda: torch_model.encode(whole, 64))
    print(
        f"reference, sentence-transformers (torch): {on_passages:.1f} blocks/s on the "
        f"passages, {on_whole:.1f} blocks/s on whole block texts"
    )


if __name__ == "__main__":
    main()
