"""Exact substring search by arrays: where each character bigram occurs in the records' text
(grams.py), the records holding a word and those whose title does (haystack.py), and sets of
record numbers as sorted arrays with their set algebra (records.py). Knows nothing of Whoosh,
issues or queries.
"""

from index.substring.grams import Grams
from index.substring.haystack import Haystack, map_file, unmap
from index.substring.records import (
    NONE,
    Bits,
    Records,
    all_of,
    any_of,
    both,
    either,
    from_bits,
    minus,
    to_bits,
)

__all__ = [
    "NONE",
    "Bits",
    "Grams",
    "Haystack",
    "Records",
    "all_of",
    "any_of",
    "both",
    "either",
    "from_bits",
    "map_file",
    "minus",
    "to_bits",
    "unmap",
]
