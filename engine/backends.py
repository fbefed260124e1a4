"""Two ways to run one sentence-transformers model; both give the same vectors.

- `OnnxBackend`: the model's transformer exported once to ONNX (kept in the data folder) and
  run with onnxruntime, the tokenizer with `tokenizers`, then mean pooling and L2 norm. It
  gives vectors within 1e-6 of sentence-transformers' at about twice the speed on a CPU, and
  needs neither torch nor transformers after the export.
- `TorchBackend`: sentence-transformers itself, for models the ONNX path does not cover
  (anything but transformer + mean pooling + normalise).
Heavy imports happen on first use only.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from engine.errors import ModelError
from engine.files import write_atomic

if TYPE_CHECKING:
    from numpy.typing import NDArray

_SIMPLE_PIPELINE = [
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
]
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class Backend(Protocol):
    def encode(self, texts: list[str], batch_size: int) -> NDArray[np.float32]: ...


def offline() -> None:
    """Nothing may be downloaded at run time: the hub stays offline whatever the caller set."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


def supports_onnx(model_path: Path) -> bool:
    """True for the plain mean-pooled, normalised models that the ONNX path reproduces."""
    try:
        modules = json.loads((model_path / "modules.json").read_text())
        pooling = json.loads((model_path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type") for m in modules]
    return kinds == _SIMPLE_PIPELINE and pooling.get("pooling_mode_mean_tokens") is True


class TorchBackend:
    def __init__(self, model_path: Path) -> None:
        offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        try:
            self.model = SentenceTransformer(str(model_path), device="cpu")
        except Exception as exc:
            raise ModelError(f"cannot load the model at {model_path}: {exc}") from exc

    def encode(self, texts: list[str], batch_size: int) -> NDArray[np.float32]:
        vectors: Any = self.model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)


class OnnxBackend:
    def __init__(self, model_path: Path, onnx_file: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if not onnx_file.is_file():
            export_onnx(model_path, onnx_file)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Idle worker threads must not spin: selection runs numpy right after each query, and
        # spinning threads steal the cores it needs (measured: 3x slower selection).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.enable_truncation(_max_length(model_path))
        self.tokenizer.enable_padding()

    def encode(self, texts: list[str], batch_size: int) -> NDArray[np.float32]:
        parts = [self._batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)

    def _batch(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (tokens,) = self.session.run(None, feeds)
        summed = (tokens * mask[..., None]).sum(axis=1)
        means = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        unit: NDArray[np.float32] = (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(
            np.float32
        )
        return unit


def export_onnx(model_path: Path, onnx_file: Path) -> None:
    """Export the model's transformer once; written atomically so a crash leaves no half file."""
    offline()
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        model = AutoModel.from_pretrained(str(model_path)).eval()
    except Exception as exc:
        raise ModelError(f"cannot load the model at {model_path}: {exc}") from exc

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(_INPUTS, inputs, strict=True))).last_hidden_state  # type: ignore[no-any-return]

    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in _INPUTS)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracing chatter is not the user's concern
        exported = Path(tmp) / "model.onnx"
        torch.onnx.export(
            LastHiddenState(),
            example,
            str(exported),
            input_names=list(_INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        data = exported.read_bytes()
    write_atomic(onnx_file, lambda file: file.write(data))


def _max_length(model_path: Path) -> int:
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text())
        return int(config.get("max_seq_length", 256))
    except (OSError, ValueError):
        return 256
