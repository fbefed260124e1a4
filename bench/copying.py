"""What the benches that fill PostgreSQL by COPY (bench/scale.py, bench/purge.py) write."""

from __future__ import annotations


def copied_columns(table: str) -> list[str]:
    """The columns of `table` a bench fills, in the order of its records."""
    return {
        "libraries": ["id", "name", "root", "imported_at"],
        "blocks": ["id", "library_id", "key", "created_at"],
        "block_versions": [
            "id",
            "block_id",
            "number",
            "content_hash",
            "slot",
            "title",
            "body",
            "status",
            "expires",
            "tags",
            "source",
            "created_at",
        ],
        "prospects": ["id", "key", "company", "profile", "updated_at"],
        "documents": [
            "id",
            "library_id",
            "prospect_id",
            "title",
            "as_of",
            "profile",
            "rep",
            "created_at",
        ],
        "document_sections": ["id", "document_id", "position", "slot", "block_version_id", "title"],
        "share_links": [
            "id",
            "document_id",
            "token_hash",
            "allow_download",
            "require_email",
            "created_at",
        ],
        "visits": [
            "id",
            "link_id",
            "created_at",
            "month",
            "secret_hash",
            "user_agent_kind",
            "last_seq",
            "last_seen_at",
        ],
        "section_time": ["visit_id", "section_id", "month", "dwell_ms", "seen"],
        "view_events": ["visit_id", "seq", "month", "received_at", "dwell_ms"],
    }[table]
