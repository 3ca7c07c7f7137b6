"""What a follower typed -> words to look for: checks, the leading section word, phrase splits.

`parse_query` refuses what cannot be searched (QueryError, one line): empty, whitespace or
punctuation only, longer than MAX_QUERY_CHARS. A first word naming a section (论文, 开源, 新闻,
热身 or an exact section name) narrows the search when other words follow it.

`split_phrase` cuts a phrase typed without spaces (模型量化部署) into the index's words, for
when the phrase itself is found nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from index.errors import QueryError, QueryTooLong
from index.text import CJK_CHARS, latin_runs

MAX_QUERY_CHARS = 200
MAX_WORDS = 8
SECTION_ALIASES = {"新闻": "业界新闻", "开源": "开源项目", "热身": "热身新闻"}
_SPLIT = re.compile(r"[\s,，、;；]+")
_KEEP_AT_END = "+#"
# around the word: what WORDLIKE refuses, at the end only what is not in _KEEP_AT_END either
_TRIM = re.compile(rf"[\W_]*(.*?)(?:[^\w{_KEEP_AT_END}]|_)*", re.S)
_CJK_PARTS = re.compile(f"([{CJK_CHARS}]+)")
LONGEST_WORD = 4  # characters of the longest Chinese word tried when splitting a phrase
# the words of a question, left out of a split phrase: 如何做模型压缩 -> 模型 压缩
ASKING_WORDS = frozenset({
    "如何", "怎么", "怎样", "什么", "哪些", "哪个", "关于", "有关", "一下", "一些", "相关", "请问",
    "有没有", "是否", "可以", "我想", "我要", "想要", "知道", "了解",
})  # fmt: skip


@dataclass(frozen=True)
class ParsedQuery:
    words: tuple[str, ...]  # as typed, punctuation trimmed, in order, no duplicates
    section: str | None = None
    section_word: str | None = None  # the word that named the section, as typed


def _trim(piece: str) -> str:
    """The piece without what is not a letter, digit or CJK character at either end (C++ and
    C# keep their ending)."""
    trimmed = _TRIM.fullmatch(piece)
    return trimmed.group(1) if trimmed else piece


def parse_query(text: str, sections: Collection[str] = ()) -> ParsedQuery:
    """Split and check a query; QueryError with a one-line reason when it cannot be searched."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTooLong(
            f"the query is too long ({len(text)} characters); send at most {MAX_QUERY_CHARS}",
            len(text),
            "characters",
        )
    if not text.strip():
        raise QueryError("the query is empty: send a word such as 量化 or Tengine")
    words: list[str] = []
    for piece in _SPLIT.split(text):
        word = _trim(piece)
        if word and word.lower() not in {w.lower() for w in words}:
            words.append(word)
    if not words:
        raise QueryError(
            "the query has no letters, digits or Chinese characters: send a word such as 量化"
        )
    if len(words) > MAX_WORDS:
        raise QueryTooLong(
            f"the query has {len(words)} words; send at most {MAX_WORDS}", len(words), "words"
        )
    section = SECTION_ALIASES.get(words[0]) or (words[0] if words[0] in sections else None)
    if section is not None and len(words) > 1:
        return ParsedQuery(tuple(words[1:]), section, words[0])
    return ParsedQuery(tuple(words))


def split_phrase(word: str, is_word: Callable[[str], bool]) -> list[str]:
    """The words of a phrase typed without spaces: its Latin parts, and in its Chinese parts
    the longest known words from left to right (`is_word`: the index has it), single
    characters and the words of a question (ASKING_WORDS) left out. 模型量化部署 -> 模型, 量化,
    部署; TVM部署 -> tvm, 部署; 如何做模型压缩 -> 模型, 压缩."""
    pieces: list[str] = []
    for number, part in enumerate(_CJK_PARTS.split(word.lower())):
        if number % 2 == 0:  # between Chinese runs
            pieces.extend(latin_runs(part))
            continue
        start = 0
        while start < len(part):
            for size in range(min(LONGEST_WORD, len(part) - start), 1, -1):
                piece = part[start : start + size]
                if piece in ASKING_WORDS or is_word(piece):
                    if piece not in ASKING_WORDS:
                        pieces.append(piece)
                    start += size
                    break
            else:
                start += 1
    return list(dict.fromkeys(pieces))
