"""Does engagement-informed selection get more blocks read without choosing worse blocks?

A simulation on the labelled fixtures, no server. Each fixture prospect's readers read a block
with a hidden propensity per block and segment (the prospect's industry), drawn from a seeded
distribution that knows nothing of our scores: a block effect plus a block-by-industry effect
on the logit scale. Every round, each prospect gets a document from static (content-only)
selection and one from learning selection (`Engagement` over the observations so far, the
round's own Thompson seed); the reader reads each chosen block with its propensity, both arms
drawing the same uniform numbers (common random numbers), and only the learning arm's
observations grow. Both arms start from no observations.

Printed per fixture set and seed: the read rate (reads over blocks shown, over all rounds) and
the acceptable-block share (engine.evaluate's labels) of each arm. Last line, pooled:
`learning read_static=<x> read_learning=<y> quality_static=<a> quality_learning=<b>`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.common import AS_OF, fixture_sets
from engine import (
    Embedder,
    Prospect,
    Query,
    Selection,
    Selector,
    index_library,
    load_library,
    load_prospects,
    select,
)
from engine.evaluate import Labels, load_labels, measure
from engine.indexing import IndexedLibrary
from engine.learning import SEGMENT_FACET, Engagement, Learning, Observations
from engine.table import BlockTable

ROUNDS = 40
SEEDS = (1, 2, 3)
NO_SEGMENT = ""


@dataclass
class Arm:
    """One way of selecting: its selections over all rounds, and its reads."""

    selections: list[Selection]
    shown: int = 0
    reads: int = 0

    @property
    def read_rate(self) -> float:
        return self.reads / self.shown if self.shown else 0.0

    def quality(self, labels: Labels) -> tuple[int, int]:
        q = measure(self.selections, labels)
        return q.acceptable, q.chosen


def propensities(
    table: BlockTable, segments: list[str], seed: int
) -> dict[str, NDArray[np.float64]]:
    """Per segment, each block's hidden chance of being read: drawn from the seed alone."""
    rng = np.random.default_rng([seed, 7919])
    block = rng.normal(0.0, 1.0, len(table))
    return {
        s: 1 / (1 + np.exp(-(block + rng.normal(0.0, 0.6, len(table))))) for s in sorted(segments)
    }


def simulate(
    indexed: IndexedLibrary,
    prospects: list[Prospect],
    queries: dict[str, Query],
    seed: int,
    learning: Learning | None = None,
) -> tuple[Arm, Arm]:
    """(static, learning) after ROUNDS rounds over every prospect."""
    table, library = indexed.table, indexed.library
    rows = {b.id: i for i, b in enumerate(table.blocks)}
    segment = {p.id: (p.facet(SEGMENT_FACET) or (NO_SEGMENT,))[0] for p in prospects}
    hidden = propensities(table, list(set(segment.values())), seed)
    static = {p.id: select(library, table, p, queries[p.id], AS_OF) for p in prospects}
    observations = Observations()
    arms = Arm([]), Arm([])
    for round_ in range(ROUNDS):
        round_seed = seed * 100_003 + round_
        engagement = Engagement(observations, replace(learning or Learning(), seed=round_seed))
        for index, prospect in enumerate(prospects):
            query = queries[prospect.id]
            learned = select(library, table, prospect, query, AS_OF, None, engagement)
            chance = np.random.default_rng([seed, round_, index]).random(len(table))
            read = hidden[segment[prospect.id]]
            for arm, selection in zip(arms, (static[prospect.id], learned), strict=True):
                arm.selections.append(selection)
                for section in selection.sections:
                    row = rows[section.block_id]
                    was_read = bool(chance[row] < read[row])
                    arm.shown += 1
                    arm.reads += was_read
                    if arm is arms[1]:
                        observations.observe(
                            section.block_id, section.slot, prospect.facet(SEGMENT_FACET), was_read
                        )
    return arms


def main() -> None:
    data_dir = Path(os.environ.get("PITCHMAP_DATA_DIR", ".pitchmap"))
    embedder = Embedder(os.environ.get("PITCHMAP_MODEL") or None)
    totals = {"static": [0, 0, 0, 0], "learning": [0, 0, 0, 0]}  # reads, shown, ok, chosen
    print(f"{ROUNDS} rounds per seed; every prospect gets one document per round and arm")
    print(f"{'fixture set':<12} {'seed':>4} {'arm':<9} {'read rate':>9} {'acceptable':>10}")
    for folder in fixture_sets():
        indexed = index_library(load_library(folder / "library"), embedder, data_dir)
        prospects = load_prospects(folder / "prospects")
        labels = load_labels(folder / "labels.yaml")
        selector = Selector(indexed, embedder)
        queries = {p.id: selector.query(p) for p in prospects}  # the model's part, done once
        for seed in SEEDS:
            arms = simulate(indexed, prospects, queries, seed)
            for name, arm in zip(totals, arms, strict=True):
                ok, chosen = arm.quality(labels)
                for i, n in enumerate((arm.reads, arm.shown, ok, chosen)):
                    totals[name][i] += n
                print(
                    f"{folder.name:<12} {seed:>4} {name:<9} {arm.read_rate:>9.3f} "
                    f"{ok / chosen:>10.3f}"
                )
    rates = {name: (t[0] / t[1], t[2] / t[3]) for name, t in totals.items()}
    print(
        f"learning read_static={rates['static'][0]:.3f} read_learning={rates['learning'][0]:.3f}"
        f" quality_static={rates['static'][1]:.3f} quality_learning={rates['learning'][1]:.3f}"
    )


if __name__ == "__main__":
    main()
