"""The archive as it changes under a running server: opened at start-up, reopened when
`neuraltalk ingest` switches generations (noticed by a background look every WATCH_EVERY
seconds, and on requests at most every `reload_every`), so that a quiet bot reloads too.

A broken or missing index never takes the webhook down: the reason is logged once, and the
archive it had is kept. After each (re)open the long-lived heap is frozen again (freeze_heap).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from bot.archive import open_archive
from bot.chat.replies import Deps
from bot.config import Settings
from bot.metrics import Metrics
from index.errors import ArchiveError
from index.search import Archive

log = logging.getLogger(__name__)

WATCH_EVERY = 0.5  # seconds between two looks at the index's CURRENT generation


def freeze_heap() -> None:
    """Move what start-up built (the index, the caches) out of the collector's way, so that
    full collections no longer walk it: the stalls that made p99 20 times p50. (Searching
    needs no jieba: the index's words are found inside the query without it.)"""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


class LiveArchive:
    """The replies' archive (deps.archive), kept at the index's live generation."""

    def __init__(self, settings: Settings, deps: Deps, metrics: Metrics, every: float) -> None:
        self.settings, self.deps, self.metrics = settings, deps, metrics
        self.reload_every = every
        self.frozen = False  # set once start-up has frozen the heap
        self._next_reload = 0.0
        self._problem: str | None = None  # why the archive could not be opened, logged once

    def maybe_reload(self) -> None:
        """Open the archive, or reopen it when `ingest` changed it: at most once a reload_every."""
        now = time.monotonic()
        if now < self._next_reload:
            return
        self._next_reload = now + self.reload_every
        self.check()

    def check(self) -> None:
        """Open the archive, or reopen it if `ingest` switched generations (one stat if not)."""
        try:
            if self.deps.archive is None:
                archive = open_archive(self.settings)
                self.deps.use_archive(archive)
                log.info("archive opened: %d issues, %d entries", *archive.counts())
            elif self.deps.archive.reload_if_changed():
                self.deps.use_archive(self.deps.archive)
                log.info("archive reloaded: %d issues, %d entries", *self.deps.archive.counts())
            else:
                return
            self.count()
            self._problem = None
            if self.frozen:
                freeze_heap()  # the new index joins the frozen heap
        except ArchiveError as exc:
            if str(exc) != self._problem:  # once, not at every look
                log.warning("archive not available: %s", exc)
            self._problem = str(exc)
        except Exception as exc:  # a broken index must not take the webhook down; keep what we have
            if repr(exc) != self._problem:
                log.exception("archive could not be (re)opened")
            self._problem = repr(exc)

    def current(self) -> Archive | None:
        """The archive, reopened first if `ingest` changed it: what other pages served by this
        application (bot.web) read."""
        self.maybe_reload()
        return self.deps.archive

    def count(self) -> None:
        """The archive's generation and counts, as metrics."""
        archive = self.deps.archive
        if archive is not None:
            issues, entries = archive.counts()
            self.metrics.archive_generation.set(archive.generation)
            self.metrics.archive_issues.set(issues)
            self.metrics.archive_entries.set(entries)

    async def watch(self, every: float = WATCH_EVERY) -> None:
        """Look at the index's CURRENT generation every `every` seconds, traffic or not."""
        while True:
            await asyncio.sleep(every)
            self.check()
