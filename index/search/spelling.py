"""Spelling suggestions for Latin words that match nothing (tengnie -> tengine)."""

from __future__ import annotations

import difflib

from index.search.cache import SizedCache

KNOWN_MAX = 10_000  # suggestions remembered


class Speller:
    """Spelling suggestions from the index's Latin words and their document frequencies.

    Candidates start with the same letter and differ in length by at most 2; they are kept in
    buckets by (first letter, length), so a suggestion reads a few short lists at any size.
    """

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self._frequency = vocabulary
        self._known: SizedCache[str | None] = SizedCache(KNOWN_MAX, lambda _: 0)
        self._buckets: dict[tuple[str, int], list[str]] = {}
        for word in vocabulary:
            self._buckets.setdefault((word[0], len(word)), []).append(word)

    def suggest(self, word: str) -> str | None:
        lowered = word.lower()
        return self._known.get(lowered, self._nearest, lowered)

    def _nearest(self, lowered: str) -> str | None:
        likely = [
            candidate
            for size in range(len(lowered) - 2, len(lowered) + 3)
            for candidate in self._buckets.get((lowered[0], size), ())
        ]
        close = difflib.get_close_matches(lowered, likely, n=5, cutoff=0.75)
        if not close:
            return None

        def closeness(candidate: str) -> tuple[float, int]:
            ratio = difflib.SequenceMatcher(None, lowered, candidate).ratio()
            return (round(ratio, 3), self._frequency[candidate])

        return max(close, key=closeness)
