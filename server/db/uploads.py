"""Which uploaded files the database still needs: every sha256 a row names.

Rows that name files in ``uploads/``: ``contact_list.source_sha256`` (and
``rejects_sha256``), ``ment.sha256``, ``image.sha256`` and
``original_sha256``, and the announcement and image hashes in each
``campaign.assets`` snapshot. ``ars gc`` and the server's start-up keep
every file one of them names (``server/upload_gc.py``).
"""

from __future__ import annotations

from sqlite_utils import Database

__all__ = ["referenced_upload_hashes", "sha256_in_use"]

_REFERENCES = """
    SELECT source_sha256 FROM contact_list WHERE source_sha256 IS NOT NULL
    UNION SELECT rejects_sha256 FROM contact_list WHERE rejects_sha256 IS NOT NULL
    UNION SELECT sha256 FROM ment
    UNION SELECT sha256 FROM image
    UNION SELECT original_sha256 FROM image
    UNION SELECT json_tree.atom FROM campaign, json_tree(campaign.assets)
          WHERE json_tree.type = 'text'
"""


def referenced_upload_hashes(db: Database) -> set[str]:
    """Every sha256 a row of the database names (lower-case hex)."""
    return {str(row[0]).lower() for row in db.execute(_REFERENCES) if row[0]}


def sha256_in_use(db: Database, sha256: str) -> bool:
    """Does any row still name this file (another list, an announcement, an
    image, a campaign's snapshot)?"""
    return db.execute(f"SELECT EXISTS(SELECT 1 FROM ({_REFERENCES}) WHERE source_sha256 = ?)",
                      [sha256]).fetchone()[0] == 1
