"""Shared fixtures: the real embedding model is loaded once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Embedder


@pytest.fixture(scope="session")
def embedder() -> Iterator[Embedder]:
    model = Embedder()
    model.encode_queries(["warm up"])
    yield model


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
