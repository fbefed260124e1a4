"""The embedding cache and the persisted index: unchanged blocks are never embedded again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import Embedder, ModelError, index_library, load_library
from engine.index import BlockIndex
from tests.factories import write_block, write_library

pytestmark = pytest.mark.slow

BLOCKS = [
    {"id": "val-fuel", "slot": "value", "body": "Cut fuel spend by routing trucks around idling."},
    {
        "id": "val-safety",
        "slot": "value",
        "body": "Fewer harsh-braking incidents with driver coaching.",
    },
    {
        "id": "proof-acme",
        "slot": "proof",
        "body": "Acme Freight saved 12% on diesel in one quarter.",
    },
]


def test_second_run_embeds_nothing_and_one_edit_embeds_one(
    tmp_path: Path, embedder: Embedder, data_dir: Path
) -> None:
    root = write_library(tmp_path / "lib", BLOCKS)
    first = index_library(load_library(root), embedder, data_dir)
    assert (first.report.embedded, first.report.written) == (3, 3)

    second = index_library(load_library(root), embedder, data_dir)
    assert (second.report.embedded, second.report.written, second.report.removed) == (0, 0, 0)
    np.testing.assert_array_equal(first.table.vectors, second.table.vectors)

    write_block(root, {**BLOCKS[0], "body": "Cut fuel spend with smarter routes and less idling."})
    third = index_library(load_library(root), embedder, data_dir)
    assert (third.report.embedded, third.report.written) == (1, 1)
    changed = [
        b.id
        for b, old, new in zip(
            third.table.blocks, first.table.vectors, third.table.vectors, strict=True
        )
        if not np.allclose(old, new)
    ]
    assert changed == ["val-fuel"]


def test_tag_or_status_edits_reuse_the_vector(
    tmp_path: Path, embedder: Embedder, data_dir: Path
) -> None:
    root = write_library(tmp_path / "lib", BLOCKS)
    index_library(load_library(root), embedder, data_dir)
    write_block(root, {**BLOCKS[1], "status": "retired", "tags": {"industry": ["mining"]}})
    assert index_library(load_library(root), embedder, data_dir).report.embedded == 0


def test_deleted_blocks_leave_the_index(tmp_path: Path, embedder: Embedder, data_dir: Path) -> None:
    root = write_library(tmp_path / "lib", BLOCKS)
    index_library(load_library(root), embedder, data_dir)
    (root / "blocks" / "proof-acme.md").unlink()
    result = index_library(load_library(root), embedder, data_dir)
    assert (result.report.removed, result.report.embedded) == (1, 0)
    saved = BlockIndex.load(next((data_dir / "index").iterdir()), embedder.dimension)
    assert len(saved) == 2
    assert {bid for bid, _ in saved.search(result.table.vectors[0], k=5)} == {
        "val-fuel",
        "val-safety",
    }


def test_a_passage_shared_by_blocks_is_embedded_once(
    tmp_path: Path, embedder: Embedder, data_dir: Path
) -> None:
    twin = {"slot": "value", "title": "Same", "body": "Identical words."}
    root = write_library(tmp_path / "lib", [{"id": "a", **twin}, {"id": "b", **twin}])
    report = index_library(load_library(root), embedder, data_dir).report
    assert (report.embedded, report.passages_embedded) == (2, 2)


def test_an_edit_to_one_passage_embeds_only_that_passage(
    tmp_path: Path, embedder: Embedder, data_dir: Path
) -> None:
    body = "First point stays.\n\n- second point stays\n- third point changes"
    root = write_library(tmp_path / "lib", [{"id": "v", "slot": "value", "body": body}])
    assert index_library(load_library(root), embedder, data_dir).report.passages_embedded == 4
    write_block(root, {"id": "v", "slot": "value", "body": body.replace("changes", "changed")})
    report = index_library(load_library(root), embedder, data_dir).report
    assert (report.embedded, report.passages_embedded, report.written) == (1, 1, 1)


def test_a_damaged_index_file_is_rebuilt_from_the_cache(
    tmp_path: Path, embedder: Embedder, data_dir: Path
) -> None:
    root = write_library(tmp_path / "lib", BLOCKS)
    index_library(load_library(root), embedder, data_dir)
    for file in (data_dir / "index").rglob("index.npz"):
        file.write_bytes(b"garbage")
    result = index_library(load_library(root), embedder, data_dir)
    assert (result.report.embedded, result.report.written) == (0, 3)


def test_vectors_are_unit_length_and_rows_follow_input_order(embedder: Embedder) -> None:
    texts = [
        "short",
        "a much longer sentence about fleet fuel costs and idling trucks",
        "mid length text",
    ]
    together = embedder.encode(texts)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = embedder.encode_queries([texts[1]])[0]
    assert float(together[1] @ alone) > 0.999


def test_onnx_and_sentence_transformers_give_the_same_vectors(embedder: Embedder) -> None:
    texts = ["We lose two weeks every quarter-end.", "short", "Ransomware hit a hospital " * 40]
    torch_vectors = Embedder(backend="torch").encode(texts)
    np.testing.assert_allclose(embedder.encode(texts), torch_vectors, atol=1e-5)


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no sentence-transformers model"):
        Embedder(tmp_path / "nowhere").encode_queries(["x"])


def test_written_files_follow_the_umask_not_mkstemps_private_mode(tmp_path: Path) -> None:
    import os

    from engine.files import write_atomic

    write_atomic(tmp_path / "out.bin", lambda file: file.write(b"x"))
    current = os.umask(0)
    os.umask(current)
    assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o666 & ~current
