"""Shared fixtures: the real embedding model is loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Embedder


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedder]:
    """The product's embedder: the packaged model through ONNX, exported once per session."""
    model = Embedder(cache_dir=tmp_path_factory.mktemp("models"))
    model.encode_queries(["warm up"])
    yield model


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
