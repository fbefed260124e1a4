"""What `tracker` offers callers; a refactor cannot quietly change it."""

from __future__ import annotations

import tracker


def test_the_public_surface_is_exactly_this() -> None:
    assert sorted(tracker.__all__) == [
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
    for name in tracker.__all__:
        assert getattr(tracker, name) is not None
