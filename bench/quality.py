"""Selection quality on the labelled fixtures, beside baselines run in the same command.

For each fixture set: the share of chosen blocks that the labels accept, for pitchmap and for
four baselines that see the same eligible blocks: random choice (mean of 20 seeds), tags only
(+1 per facet naming the prospect's value, -1 per facet aimed elsewhere), embeddings only
(cosine to the whole needs text), and the naive sum of the two. Also how many of the labelled
unanswerable needs pitchmap reports, how many needs it reports in all, and in how many slots
taking several blocks it chose two the labels' `same_message` groups call one message.
Last line: `quality pitchmap=<x> random=<r> tags=<t> embeddings=<e> naive_sum=<n>` (pooled).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.common import AS_OF, fixture_sets
from engine import (
    Embedder,
    Prospect,
    Section,
    Selection,
    Selector,
    index_library,
    load_library,
    load_prospects,
)
from engine.eligibility import eligible
from engine.evaluate import Quality, load_labels, measure
from engine.indexing import IndexedLibrary

Scorer = Callable[[IndexedLibrary, Prospect], np.ndarray]


def tag_scores(indexed: IndexedLibrary, prospect: Prospect) -> np.ndarray:
    table = indexed.table
    scores = np.zeros(len(table))
    for name in indexed.table.facets:
        values = prospect.facet(name)
        if values:
            column = table.facet(name)
            named = column.naming(values)
            scores += (column.present & named).astype(float) - (column.present & ~named)
    return scores


def embedding_scores(embedder: Embedder) -> Scorer:
    def score(indexed: IndexedLibrary, prospect: Prospect) -> np.ndarray:
        text = prospect.needs or " ".join(str(v) for v in prospect.fields.values())
        return indexed.table.vectors @ embedder.encode_queries([text])[0]

    return score


def naive_sum(embedder: Embedder) -> Scorer:
    embeddings = embedding_scores(embedder)
    return lambda indexed, p: embeddings(indexed, p) + 0.1 * tag_scores(indexed, p)


def random_scores(seed: int) -> Scorer:
    rng = np.random.default_rng(seed)
    return lambda indexed, _: rng.random(len(indexed.table))


def top_per_slot(indexed: IndexedLibrary, prospect: Prospect, scores: np.ndarray) -> Selection:
    table, allowed = indexed.table, eligible(indexed.table, prospect, AS_OF)
    sections = []
    for slot in indexed.library.slots:
        rows = table.rows_in(slot.id)
        candidates = rows[allowed[rows]]
        best = candidates[np.argsort(-scores[candidates], kind="stable")[: slot.count]]
        sections += [Section(slot.id, table.blocks[i].id, float(scores[i]), "") for i in best]
    return Selection(prospect.id, tuple(sections), (), ())


def evaluate(folder: Path, embedder: Embedder, data_dir: Path) -> dict[str, Quality]:
    indexed = index_library(load_library(folder / "library"), embedder, data_dir)
    prospects = load_prospects(folder / "prospects")
    labels = load_labels(folder / "labels.yaml")
    selector = Selector(indexed, embedder)

    def baseline(scorer: Scorer) -> Quality:
        return measure((top_per_slot(indexed, p, scorer(indexed, p)) for p in prospects), labels)

    randoms = [baseline(random_scores(seed)) for seed in range(20)]
    return {
        "pitchmap": measure((selector.select(p, AS_OF) for p in prospects), labels),
        "random": Quality(
            sum(q.chosen for q in randoms), sum(q.acceptable for q in randoms), 0, 0, 0
        ),
        "tags": baseline(tag_scores),
        "embeddings": baseline(embedding_scores(embedder)),
        "naive_sum": baseline(naive_sum(embedder)),
    }


def main() -> None:
    data_dir = Path(os.environ.get("PITCHMAP_DATA_DIR", ".pitchmap"))
    embedder = Embedder(os.environ.get("PITCHMAP_MODEL") or None)
    pooled: dict[str, list[Quality]] = {}
    print(f"{'fixture set':<12} {'method':<11} {'acceptable':>10} {'share':>6}")
    for folder in fixture_sets():
        for method, quality in evaluate(folder, embedder, data_dir).items():
            pooled.setdefault(method, []).append(quality)
            print(
                f"{folder.name:<12} {method:<11} {quality.acceptable:>4}/{quality.chosen:<5} "
                f"{quality.share:>6.3f}"
            )
        ours = pooled["pitchmap"][-1]
        print(
            f"{folder.name:<12} unanswered needs: {ours.unanswered_found}/"
            f"{ours.unanswered_labelled} labelled found, {ours.unanswered_reported} reported; "
            f"one message twice in {ours.repeated_message_slots} of {ours.multi_block_slots} "
            "multi-block slots"
        )
    shares = {
        method: sum(q.acceptable for q in qs) / max(1, sum(q.chosen for q in qs))
        for method, qs in pooled.items()
    }
    print("quality " + " ".join(f"{method}={share:.3f}" for method, share in shares.items()))


if __name__ == "__main__":
    main()
