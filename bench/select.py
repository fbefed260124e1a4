"""Warm selection latency for one prospect on a 10,000-block library, beside the raw cost of
one query embedding measured in the same run.

The library is the fixtures' blocks copied to 10,000 (bench.common.synthetic_library); its
embeddings are cached under the data folder, so only the first run pays for them. Every
fixture prospect is selected 5 times; p50 over all calls. The floor is pitchmap's own
embedder (ONNX) embedding each prospect's needs text as one query; sentence-transformers
doing the same is printed for reference.
Last line: `select p50_ms=<x> floor_ms=<y> blocks=10000`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.common import AS_OF, fixture_sets, synthetic_library
from engine import Embedder, Selector, index_library, load_library, load_prospects
from engine.backends import TorchBackend

BLOCKS = int(os.environ.get("BENCH_BLOCKS", "10000"))
REPEAT = 5


def timings_ms(calls: list[object], run: object) -> list[float]:
    out = []
    for arg in calls:
        start = time.perf_counter()
        run(arg)  # type: ignore[operator]
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    data_dir = Path(os.environ.get("PITCHMAP_DATA_DIR", ".pitchmap")) / "bench"
    embedder = Embedder(os.environ.get("PITCHMAP_MODEL") or None, cache_dir=data_dir)
    library = load_library(synthetic_library(data_dir / f"library-{BLOCKS}", BLOCKS))
    indexed = index_library(library, embedder, data_dir)
    print(f"library: {BLOCKS} blocks, {indexed.report.embedded} embedded this run", flush=True)
    selector = Selector(indexed, embedder)
    prospects = [p for folder in fixture_sets() for p in load_prospects(folder / "prospects")]
    selector.select(prospects[0], AS_OF)
    calls = prospects * REPEAT
    ours = timings_ms(calls, lambda p: selector.select(p, AS_OF))
    floor = timings_ms(calls, lambda p: embedder.encode_queries([p.needs or p.company]))
    torch_model = TorchBackend(embedder.model_path)
    torch_floor = timings_ms(calls, lambda p: torch_model.encode([p.needs or p.company], 64))
    p50, floor_p50 = statistics.median(ours), statistics.median(floor)
    print(f"sentence-transformers, one query p50 {statistics.median(torch_floor):.1f} ms")
    print(f"selection p50 {p50:.1f} ms, p90 {statistics.quantiles(ours, n=10)[-1]:.1f} ms")
    print(f"one query embedding p50 {floor_p50:.1f} ms; selection = {p50 / floor_p50:.2f}x floor")
    print(f"select p50_ms={p50:.1f} floor_ms={floor_p50:.1f} blocks={BLOCKS}")


if __name__ == "__main__":
    main()
