"""Loading content for the running bot, syncing it into the database, reloading it live.

A content error found while running never replaces good content: the reload
is refused, the problems are logged, and the last good library stays live.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import Session, select

from bot.audit import service as audit
from bot.clock import utcnow
from bot.config import AppConfig
from bot.content.library import ContentLibrary, checksum, fingerprint, load_library
from bot.content.models import ContentItem
from bot.db import session_scope
from bot.problems import ProblemsError

log = logging.getLogger("relais.content")


def load_checked(root: Path, config: AppConfig, lang: str | None = None) -> ContentLibrary:
    """The library, or ProblemsError with everything wrong."""
    library, problems = load_library(root, config, lang)
    if problems:
        raise ProblemsError(problems)
    return library


SYNC_LOCK = 0x52454C41  # 'RELA': the content sync's advisory lock


def sync(
    session: Session, library: ContentLibrary, config: AppConfig | None = None
) -> dict[str, int]:
    """Upsert every item into ``contentitem``; mark items gone from the files as retired.

    Posts are also brought into the posts table, where their approval lives
    (``bot.posts.service.sync_files``).
    """
    from bot.charter.signoff import refresh_gate  # the charter builds on content too
    from bot.posts.service import sync_files  # posts build on content, not the reverse

    if session.get_bind().dialect.name == "postgresql":
        # Replicas start (and reload) with the same files: one syncs at a time, the
        # next finds the rows already there instead of inserting them twice.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK})
    now = utcnow()
    existing = {
        (row.kind, row.item_id, row.language): row
        for row in session.exec(select(ContentItem)).all()
    }
    seen = set()
    counts = {"added": 0, "updated": 0, "retired": 0}
    for kind, item_id, lang, item in library.items():
        key = (kind, item_id, lang)
        seen.add(key)
        digest = checksum(item)
        row = existing.get(key)
        if row is None:
            session.add(
                ContentItem(
                    kind=kind,
                    item_id=item_id,
                    language=lang,
                    checksum=digest,
                    data=item.model_dump(mode="json"),
                    first_seen_at=now,
                    updated_at=now,
                )
            )
            counts["added"] += 1
        elif row.checksum != digest or row.retired_at is not None:
            row.checksum, row.data, row.updated_at, row.retired_at = (
                digest,
                item.model_dump(mode="json"),
                now,
                None,
            )
            counts["updated"] += 1
    for key, row in existing.items():
        if key not in seen and row.retired_at is None:
            row.retired_at = now
            counts["retired"] += 1
    sync_files(session, library, config)
    if config is not None:
        refresh_gate(session, library, config)  # before the library goes live: no draft shows
    return counts


class ContentWatcher:
    """Reloads content when files change; keeps the last good library on error."""

    def __init__(
        self, root: Path, config: AppConfig, engine: Engine, library: ContentLibrary
    ) -> None:
        self.root = root
        self.config = config
        self.engine = engine
        self.library = library
        self.last_problems: list[str] = []

    def check(self) -> ContentLibrary | None:
        """Return a new library when the files changed and are valid, else None."""
        if not self.root.is_dir() or fingerprint(self.root) == self.library.fingerprint:
            return None
        library, problems = load_library(self.root, self.config, "en")
        if problems:
            rendered = [str(p) for p in problems]
            if rendered != self.last_problems:
                log.error(
                    "content changed but has %d problem(s); keeping the last good content:\n%s",
                    len(problems),
                    "\n".join(rendered),
                )
            self.last_problems = rendered
            return None
        self.last_problems = []
        with session_scope(self.engine) as session:
            counts = sync(session, library, self.config)
            audit.content_synced(session, counts)
        log.info("content reloaded: %s (%s)", library.counts(), counts)
        self.library = library
        return library
