"""The lexical half of relevance: stemmed TF-IDF overlap between need statements and blocks,
and its place in selection (it separates blocks the model scores alike)."""

from __future__ import annotations

import datetime as dt
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import snowballstemmer

from engine import (
    Block,
    Library,
    MessageMap,
    Prospect,
    Query,
    Section,
    Slot,
    Weights,
    lexical,
    select,
)
from engine.index import BlockIndex
from engine.lexical import Lexicon, words
from engine.markdown import parse
from engine.table import BlockTable

AS_OF = dt.date(2026, 11, 24)


def blocks(*bodies: str) -> list[Block]:
    return [
        Block(f"b{i}", "value", "", body, "approved", nodes=parse(body))
        for i, body in enumerate(bodies)
    ]


def test_words_are_stemmed_and_stop_words_dropped() -> None:
    assert words("The renewals were renewed, and invoicing of invoices") == [
        "renew",
        "renew",
        "invoic",
        "invoic",
    ]
    assert words("a I s") == []  # single letters and stop words carry nothing


def test_a_stemmed_word_matches_across_its_forms() -> None:
    lexicon = Lexicon.build(blocks("Renewal alerts before every notice date.", "Faster approvals."))
    (row,) = lexicon.similarity(["Our renewals slip past their notice dates"])
    assert row[0] > 0.5
    assert row[1] == 0.0


def test_a_word_rare_in_the_library_counts_more_than_a_common_one() -> None:
    lexicon = Lexicon.build(
        blocks(
            "Platform for fleets: cut idling.",
            "Platform for fleets: plan routes.",
            "Platform for fleets: coach drivers.",
        )
    )
    idling, routes, coaching = lexicon.similarity(["idling on our platform"])[0]
    assert idling > 2 * max(routes, coaching)
    assert routes == coaching > 0  # "platform" and "fleets" alone: shared by every block


def test_a_library_without_a_word_to_match_scores_zero_rather_than_failing() -> None:
    lexicon = Lexicon.build(blocks("The", "and of"))
    assert lexicon.similarity(["idling"]).shape == (1, 2)
    assert not lexicon.similarity(["idling"]).any()
    assert lexicon.similarity([]).shape == (0, 2)


def test_between_blocks_the_model_scores_alike_the_one_using_the_needs_words_wins() -> None:
    # Same vector for both: the model cannot tell them apart, and the first would win a tie.
    chosen = blocks("We reduce wasted fuel for fleets.", "We cut engine idling at depots.")
    vectors = np.tile(np.eye(4, dtype=np.float32)[:1], (2, 1))
    table = replace(BlockTable.build(chosen, vectors), lexicon=Lexicon.build(chosen))
    library = Library(Path("."), MessageMap("m", (Slot("value", "Value"),)), tuple(chosen))
    prospect = Prospect("p", "Co", needs="Drivers leave engines idling for hours.")
    query = Query((prospect.needs,), vectors[:1], vectors[0], None)

    def pick(weights: Weights) -> Section:
        return select(library, table, prospect, query, AS_OF, weights).sections[0]

    assert pick(Weights()).block_id == "b1"
    assert pick(Weights()).why.endswith("; uses your words: engines, idling")
    assert pick(Weights(lexical=0.0)).block_id == "b0"
    # Under the overlap at which a shared word is a reason, the why does not name it.
    assert "uses your words" not in pick(Weights(words_shown=0.99)).why


def test_shared_words_come_as_written_rarest_in_the_library_first() -> None:
    lexicon = Lexicon.build(
        blocks("Platform for fleets: cut idling at depots.", "Platform for fleets: plan routes.")
    )
    statement = "Our fleets idle at the depots; the platform is slow"
    assert lexicon.shared_words(statement, 0) == ("idle", "depots", "fleets")
    assert lexicon.shared_words(statement, 1) == ("fleets", "platform")
    assert lexicon.shared_words(statement, 0, limit=1) == ("idle",)
    assert lexicon.shared_words("nothing in common", 0) == ()


def test_words_of_any_script_are_kept_whole_and_shown_as_written() -> None:
    lexicon = Lexicon.build(
        blocks("La facturation électronique, prête pour 2026.", "SOX audit trail.")
    )
    assert lexicon.shared_words("Réduire la facturation électronique", 0) == (
        "la",
        "facturation",
        "électronique",
    )
    assert lexicon.shared_words("Our SOX audits", 1) == ("SOX", "audits")
    # An accent typed as a combining mark (NFD) is the same word.
    assert words(unicodedata.normalize("NFD", "électronique")) == words("électronique")


def test_stemming_from_many_threads_at_once_gives_each_word_its_own_stem() -> None:
    """The server selects in worker threads; the stemmer keeps state between calls."""
    roots = ["invoic", "renew", "approv", "process", "reconcil", "schedul", "automat", "manag"]
    endings = ["ing", "ed", "ations", "ement", "ers", "ingly", "es", "ation"]
    vocabulary = [f"{p}{r}{e}" for p in ("", "re", "pre", "un") for r in roots for e in endings]
    fresh = snowballstemmer.stemmer("english")
    expected = [fresh.stemWord(word) for word in vocabulary]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(5):
            lexical._stem.cache_clear()
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(lambda _: [lexical._stem(w) for w in vocabulary], range(4)))
            assert all(result == expected for result in results)
    finally:
        sys.setswitchinterval(interval)


def test_above_the_hnsw_threshold_words_bring_in_a_block_the_vectors_rank_last() -> None:
    """Retrieval by vector keeps the 1,024 nearest blocks; one that the vectors rank last but
    that alone uses the need's words must still be scored, and win as it does exactly."""
    count, dimension = 1500, 16
    rng = np.random.default_rng(7)
    cosines = np.append(rng.uniform(0.02, 0.1, count - 1), 0.0)  # the last block is the far one
    sideways = rng.standard_normal((count, dimension - 1))
    sideways /= np.linalg.norm(sideways, axis=1, keepdims=True)
    vectors = np.hstack([cosines[:, None], np.sqrt(1 - cosines[:, None] ** 2) * sideways])
    titles = [f"Platform module {i}" for i in range(count - 1)] + ["Zymurgy audits, done"]
    chosen = [Block(f"b{i:04d}", "value", t, "", "approved") for i, t in enumerate(titles)]
    index = BlockIndex(dimension)
    index.sync(chosen, lambda bs: vectors[[int(b.id[1:]) for b in bs]], hnsw_threshold=count)
    ids = [b.id for b in chosen]
    exact = replace(BlockTable.build(chosen, index.vectors(ids)), lexicon=Lexicon.build(chosen))
    retrieved = replace(exact, nearest=index.candidates(ids, exact.slot_rows))
    assert retrieved.nearest is not None
    library = Library(Path("."), MessageMap("m", (Slot("value", "Value"),)), tuple(chosen))
    need = np.eye(dimension, dtype=np.float32)[0]
    prospect = Prospect("p", "Co", needs="Our zymurgy audits keep failing.")
    query = Query((prospect.needs,), need[None, :], need, None)
    for table in (exact, retrieved):
        (section,) = select(library, table, prospect, query, AS_OF).sections
        assert section.block_id == "b1499"
