"""Settings read once from the environment (`PITCHMAP_*`), with defaults that need no setup."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast
from urllib.parse import urlsplit

from engine import Embedder, PitchmapError
from engine.hnsw import DEFAULT_THRESHOLD
from tracker.database import database_url
from tracker.purge import MAX_DAYS

EmbedderBackend = Literal["auto", "onnx", "torch"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_NOTICE = (
    "This page measures which sections are on screen and for how long, so the sender knows "
    "what was useful. Your network address is not stored."
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    model: Path | None = None
    embedder: EmbedderBackend = "auto"
    model_cache: Path | None = None  # PITCHMAP_MODEL_CACHE; None means the data folder
    rep_name: str | None = None
    rep_email: str | None = None
    database: str | None = None  # PITCHMAP_DATABASE_URL; None means SQLite in the data folder
    base_url: str | None = None
    smtp_url: str | None = None
    webhook_urls: tuple[str, ...] = ()
    webhook_secret: str | None = None
    trusted_proxies: tuple[Network, ...] = ()
    viewer_notice: str = DEFAULT_NOTICE
    retention_days: int | None = None  # PITCHMAP_RETENTION_DAYS: raw visits kept (tracker.purge)
    learning: bool = False  # PITCHMAP_LEARNING: engagement-informed selection on the pages
    hnsw_threshold: int = DEFAULT_THRESHOLD  # PITCHMAP_HNSW_THRESHOLD: blocks for HNSW search

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            data_dir=Path(env.get("PITCHMAP_DATA_DIR") or ".pitchmap"),
            model=_path(env.get("PITCHMAP_MODEL")),
            embedder=_backend(env.get("PITCHMAP_EMBEDDER") or "auto"),
            model_cache=_path(env.get("PITCHMAP_MODEL_CACHE")),
            rep_name=env.get("PITCHMAP_REP_NAME") or None,
            rep_email=env.get("PITCHMAP_REP_EMAIL") or None,
            database=env.get("PITCHMAP_DATABASE_URL") or None,
            base_url=_base_url(env.get("PITCHMAP_BASE_URL") or None),
            smtp_url=env.get("PITCHMAP_SMTP_URL") or None,
            webhook_urls=_webhook_urls(env.get("PITCHMAP_WEBHOOK_URLS") or ""),
            webhook_secret=env.get("PITCHMAP_WEBHOOK_SECRET") or None,
            trusted_proxies=_networks(env.get("PITCHMAP_TRUSTED_PROXIES") or ""),
            viewer_notice=env.get("PITCHMAP_VIEWER_NOTICE") or DEFAULT_NOTICE,
            retention_days=_days("PITCHMAP_RETENTION_DAYS", env.get("PITCHMAP_RETENTION_DAYS")),
            learning=_switch("PITCHMAP_LEARNING", env.get("PITCHMAP_LEARNING") or "0"),
            hnsw_threshold=_blocks(env.get("PITCHMAP_HNSW_THRESHOLD") or str(DEFAULT_THRESHOLD)),
        )

    @property
    def database_url(self) -> str:
        return database_url(self.data_dir, self.database)

    def new_embedder(self) -> Embedder:
        """The configured model; its ONNX export (88 MB, seconds to make) is kept apart from
        the data when `model_cache` says so, so that many data folders can share one."""
        cache = self.model_cache or self.data_dir
        return Embedder(self.model, cache_dir=cache, backend=self.embedder)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _backend(value: str) -> EmbedderBackend:
    if value not in ("auto", "onnx", "torch"):
        raise SettingsError(f"PITCHMAP_EMBEDDER: {value!r} is not one of auto, onnx, torch")
    return cast(EmbedderBackend, value)


def _switch(name: str, value: str) -> bool:
    if value not in ("0", "1"):
        raise SettingsError(f"{name}: {value!r} is not 0 or 1")
    return value == "1"


def _days(name: str, value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdecimal() or not 1 <= int(value) <= MAX_DAYS:
        raise SettingsError(f"{name}: {value!r} is not a whole number of days from 1 to {MAX_DAYS}")
    return int(value)


def _blocks(value: str) -> int:
    if not value.isdecimal() or int(value) < 1:
        raise SettingsError(f"PITCHMAP_HNSW_THRESHOLD: {value!r} is not a whole number of blocks")
    return int(value)


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name}: {value!r} is not an http(s) URL")
    return value


def _base_url(value: str | None) -> str | None:
    return None if value is None else _http_url("PITCHMAP_BASE_URL", value).rstrip("/")


def _webhook_urls(value: str) -> tuple[str, ...]:
    urls = (u.strip() for u in value.replace(",", " ").split())
    return tuple(_http_url("PITCHMAP_WEBHOOK_URLS", u) for u in urls if u)


def _networks(value: str) -> tuple[Network, ...]:
    networks: list[Network] = []
    for item in value.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(
                f"PITCHMAP_TRUSTED_PROXIES: {item!r} is not an address or network"
            ) from None
    return tuple(networks)


class SettingsError(PitchmapError):
    """An environment variable that pitchmap cannot use; the message names it."""
