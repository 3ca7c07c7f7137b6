"""Which records a query's words match, in ranked groups, and the index words to score them by.

Each word is looked up as a case-insensitive substring (index/substring/), with its synonyms
(a Latin synonym as a word: `search` is not found inside `research`; a phrase as its words);
records must hold every word (else any). The groups, in order: the title holds the words, the
rest holds them, then the same two for records found only through a synonym. A phrase typed
without spaces that matches nothing can be split into the index's words (`split_unmatched`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

from index.search.generation import Generation
from index.search.query import split_phrase
from index.search.synonyms import Synonyms
from index.substring import Bits, Haystack, any_of, minus, to_bits
from index.text import cjk_runs, latin_runs


def _word_terms(gen: Generation, lowered: str) -> list[str]:
    """jieba words of the index inside a query word (no jieba needed at query time)."""
    candidates = {lowered, *latin_runs(lowered)}
    for run in cjk_runs(lowered):
        candidates.update(run[i : i + n] for n in range(2, 5) for i in range(len(run) - n + 1))
    return [t for t in candidates if gen.scorer.has_term(t)]


def _score_terms(gen: Generation, words: Iterable[str]) -> list[str]:
    """The index's jieba words inside the query words (remembered per word)."""
    terms: set[str] = set()
    for word in words:
        lowered = word.lower()
        terms.update(gen.terms.get(lowered, _word_terms, gen, lowered))
    return sorted(terms)


@dataclass
class Match:
    """The records a query matches, in ranked groups."""

    groups: list[Bits]  # as bits: a page turns into records only the groups it reaches
    terms: list[str]
    matched_all: bool
    unmatched: list[str]  # words that matched nothing at all

    @property
    def total(self) -> int:
        return sum(g.bit_count() for g in self.groups)


def _shortest(word: str, others: Sequence[str]) -> list[str]:
    """The synonyms worth looking up: one holding `word` or a shorter synonym found as a
    substring (二值化 holds 二值) adds no record and no title to theirs, so only the union is
    needed. A Latin synonym is found as a word, so it covers no longer one (deploy and
    deployment are both looked up)."""
    kept: list[str] = [word.lower()]
    for other in sorted({o.lower() for o in others}, key=len):
        covering = [kept[0], *(k for k in kept[1:] if not k.isascii())]
        if not any(shorter in other for shorter in covering):
            kept.append(other)
    return kept[1:]


def _word(hay: Haystack, word: str, others: Sequence[str]) -> tuple[Bits, ...]:
    """Records with `word`, with a synonym only, and whose title has `word` / any of them."""
    literal, lit_title = hay.find(word)
    found, titled = [literal], [lit_title]
    for other in _shortest(word, others):
        records, in_title = hay.find(other, whole=other.isascii())  # search: not in research
        found.append(records)
        titled.append(in_title)
    sets = literal, minus(any_of(found), literal), lit_title, any_of(titled)
    return tuple(to_bits(s) for s in sets)


Combine = Callable[[list[Bits]], Bits]


def _all(sets: list[Bits]) -> Bits:
    return reduce(operator.and_, sets)


def _any(sets: list[Bits]) -> Bits:
    return reduce(operator.or_, sets)


def match_words(
    gen: Generation, words: Sequence[str], synonyms: Synonyms, section: str | None
) -> Match:
    """The records holding all `words` (else any), with their synonyms, in `section` if given."""
    hay = gen.haystack
    scope = gen.section_bits(section) if section else None
    literal, found, titled, unmatched = [], [], [], []
    for word in words:
        others = synonyms.of(word)
        key = (word.lower(), others)
        lit, syn, lit_title, titles_here = gen.words.get(key, _word, hay, word, others)
        if scope is not None:
            lit, syn = lit & scope, syn & scope
        literal.append(lit)
        found.append(lit | syn)
        titled.append((lit_title, titles_here))
        if not lit and not syn:
            unmatched.append(word)
    combine: Combine = _all
    matches = combine(found)
    matched_all = bool(matches) or len(words) == 1
    if not matches and len(words) > 1:
        combine = _any
        matches = combine(found)
    lit_all = combine(literal) & matches
    first = lit_all & combine([t[0] for t in titled])
    rest = matches & ~lit_all
    rest_titled = rest & combine([t[1] for t in titled])
    groups = [first, lit_all & ~first, rest_titled, rest & ~rest_titled]
    terms = _score_terms(gen, [*words, *(s for w in words for s in synonyms.of(w))])
    return Match(groups, terms, matched_all and bool(matches), unmatched)


def split_unmatched(
    gen: Generation, words: Sequence[str], unmatched: Sequence[str]
) -> tuple[str, ...]:
    """The words, each unmatched one made of index words replaced by them (如何剪枝 -> 剪枝)."""
    split: list[str] = []
    for word in words:
        pieces = split_phrase(word, gen.scorer.has_term) if word in unmatched else []
        split.extend(pieces if pieces and pieces != [word.lower()] else [word])
    return tuple(dict.fromkeys(split))
