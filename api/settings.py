"""Settings read once from the environment (`PITCHMAP_*`), with defaults that need no setup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from engine import PitchmapError

EmbedderBackend = Literal["auto", "onnx", "torch"]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    model: Path | None = None
    embedder: EmbedderBackend = "auto"
    rep_name: str | None = None
    rep_email: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        model = env.get("PITCHMAP_MODEL")
        return cls(
            data_dir=Path(env.get("PITCHMAP_DATA_DIR") or ".pitchmap"),
            model=Path(model) if model else None,
            embedder=_backend(env.get("PITCHMAP_EMBEDDER") or "auto"),
            rep_name=env.get("PITCHMAP_REP_NAME") or None,
            rep_email=env.get("PITCHMAP_REP_EMAIL") or None,
        )


def _backend(value: str) -> EmbedderBackend:
    if value not in ("auto", "onnx", "torch"):
        raise SettingsError(f"PITCHMAP_EMBEDDER: {value!r} is not one of auto, onnx, torch")
    return cast(EmbedderBackend, value)


class SettingsError(PitchmapError):
    """An environment variable that pitchmap cannot use; the message names it."""
