"""What the benchmarks share: the fixture sets and a one-line figure printer."""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
AS_OF = dt.date(2026, 11, 24)


def fixture_sets() -> list[Path]:
    """Every fixture folder that has a library, prospects and labels."""
    return sorted(p.parent for p in FIXTURES.glob("*/labels.yaml"))


def p50_ms(run: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def synthetic_library(root: Path, blocks: int, seed: int = 7) -> Path:
    """A library of `blocks` blocks made from the fixtures' blocks: each copy gets its own id,
    random tags and a marker in every passage, so no two passages share a cache entry."""
    import random

    import yaml

    from engine import load_library

    rng = random.Random(seed)
    templates = [b for folder in fixture_sets() for b in load_library(folder / "library").blocks]
    values = {
        facet: sorted({v for b in templates for v in b.tags.get(facet, ())})
        for facet in ("industry", "persona", "stage")
    }
    (root / "blocks").mkdir(parents=True, exist_ok=True)
    source = fixture_sets()[0] / "library" / "message_map.yaml"
    (root / "message_map.yaml").write_text(source.read_text())
    for i in range(blocks):
        template = rng.choice(templates)
        tags = {f: [rng.choice(vs)] for f, vs in values.items() if vs and rng.random() < 0.4}
        meta = {"id": f"b{i:05d}", "slot": template.slot, "title": f"{template.title} ({i})"}
        meta |= {"status": "approved", "tags": tags}
        body = "\n\n".join(f"{line} Ref {i}-{j}." for j, line in enumerate(template.passages[1:]))
        (root / "blocks" / f"b{i:05d}.md").write_text(f"---\n{yaml.safe_dump(meta)}---\n{body}\n")
    return root


def free_port() -> int:
    """A loopback port nobody listens on now, for a server started next."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
