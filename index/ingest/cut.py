"""jieba's words of the index's title and body fields, cut at ingest (search never cuts).

jieba's search-mode words, lower-cased, punctuation dropped (like jieba/analyse/analyzer.py's
ChineseAnalyzer, without its stemming), given to Whoosh as lists. They give relevance (BM25);
recall comes from substring lookup (index/substring/), since jieba keeps ``OpenCV4.3`` or
``TengineKit`` whole and may cut a sentence around 量化 differently from the query.

jieba is loaded lazily, once, with its logger silenced.
"""

from __future__ import annotations

import logging
import marshal
import sys
import threading
from collections.abc import Sequence
from types import ModuleType
from typing import Any, BinaryIO

from index.text import WORDLIKE

PARALLEL_MIN_TEXTS = 400  # below this, forking costs more than it saves

_jieba_lock = threading.Lock()
_jieba_ready = False


class _WholeFileMarshal:
    """jieba reads its dictionary cache with marshal.load(file), which reads it in small pieces
    (about 1 s for its 9 MB); marshal.loads of the whole file gives the same dict in 0.3 s."""

    dump = staticmethod(marshal.dump)

    @staticmethod
    def load(handle: BinaryIO) -> Any:
        return marshal.loads(handle.read())


def _import_jieba() -> ModuleType:
    """jieba, imported without pkg_resources: jieba imports that (0.1 s, and deprecated) only to
    open its own data files, and opens them by path when it is missing."""
    if "pkg_resources" in sys.modules or "jieba" in sys.modules:
        import jieba  # type: ignore[import-untyped]

        return jieba
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # so that the import fails
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]
    return jieba


def load_jieba() -> ModuleType:
    """The jieba module, initialised once (from its cache file) with its logger quiet."""
    global _jieba_ready
    jieba = _import_jieba()
    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.marshal = _WholeFileMarshal  # type: ignore[attr-defined]
                jieba.initialize()
                _jieba_ready = True
    return jieba


_memo: dict[str, list[str]] = {}
MEMO_MAX = 200_000  # cut blocks remembered (texts repeat their words, and synthetic ones a lot)


def cut(text: str) -> list[str]:
    """The words of `text` for the index: jieba search mode, lower-cased, only words holding a
    letter, digit or CJK character; a list (Whoosh indexes a list as it is).

    jieba cuts each run of its word characters on its own and passes the other characters
    through one by one, so the run's words are remembered: the same words, cut once.
    """
    jieba = load_jieba()
    words: list[str] = []
    for number, block in enumerate(jieba.re_han_default.split(text)):
        if number % 2 == 0:  # between runs: jieba yields each character; keep word characters
            words.extend(c.lower() for c in block if WORDLIKE.match(c))
            continue
        found = _memo.get(block)
        if found is None:
            found = [w.lower() for w in jieba.cut_for_search(block) if WORDLIKE.search(w)]
            if len(_memo) < MEMO_MAX:
                _memo[block] = found
        words.extend(found)
    return words


def cut_many(texts: Sequence[str], procs: int = 1) -> list[list[str]]:
    """cut() of many texts, on `procs` forked processes sharing the loaded dictionary."""
    load_jieba()
    if procs <= 1 or len(texts) < PARALLEL_MIN_TEXTS:
        return [cut(text) for text in texts]
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(procs) as pool:
        return pool.map(cut, texts, chunksize=max(16, len(texts) // (procs * 8)))
