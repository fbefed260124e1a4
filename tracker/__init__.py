"""Share links, view events and engagement reports (storage lives here)."""

from tracker.blocks import store_block_version
from tracker.database import create_engine, create_sessions, database_url, migrate
from tracker.errors import TrackerError, UnknownKeyError, UnknownRoleError
from tracker.keys import KeyInfo, Role, create_key, list_keys, lookup_key, revoke_key

__all__ = [
    "KeyInfo",
    "Role",
    "TrackerError",
    "UnknownKeyError",
    "UnknownRoleError",
    "create_engine",
    "create_key",
    "create_sessions",
    "database_url",
    "list_keys",
    "lookup_key",
    "migrate",
    "revoke_key",
    "store_block_version",
]
