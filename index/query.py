"""What a follower typed -> words to look for: checks, the leading section word, synonyms, spelling.

`parse_query` refuses what cannot be searched (QueryError, one line): empty, whitespace or
punctuation only, longer than MAX_QUERY_CHARS. A first word naming a section (论文, 开源, 新闻,
热身 or an exact section name) narrows the search when other words follow it.

`split_phrase` cuts a phrase typed without spaces (模型量化部署) into the index's words, for
when the phrase itself is found nowhere.

`Synonyms` reads index/synonyms.yaml, plus the editor's file named by archive.synonyms: a YAML
list of groups of words that mean the same thing (量化, quantization, quantize, ...).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from index.analysis import CJK_CHARS, WORDLIKE, latin_runs
from index.errors import ArchiveError, QueryError

MAX_QUERY_CHARS = 200
MAX_WORDS = 8
KNOWN_MAX = 10_000
SECTION_ALIASES = {"新闻": "业界新闻", "开源": "开源项目", "热身": "热身新闻"}
BUILTIN_SYNONYMS = Path(__file__).with_name("synonyms.yaml")
_SPLIT = re.compile(r"[\s,，、;；]+")
_KEEP_AT_END = "+#"
_LATIN_WORD = re.compile(r"[a-z][a-z0-9.+#\-]*[a-z0-9+#]")
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
    start, end = 0, len(piece)
    while start < end and not WORDLIKE.match(piece[start]):
        start += 1
    while end > start and not WORDLIKE.match(piece[end - 1]) and piece[end - 1] not in _KEEP_AT_END:
        end -= 1
    return piece[start:end]


def parse_query(text: str, sections: Collection[str] = ()) -> ParsedQuery:
    """Split and check a query; QueryError with a one-line reason when it cannot be searched."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is too long ({len(text)} characters); send at most {MAX_QUERY_CHARS}"
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
        raise QueryError(f"the query has {len(words)} words; send at most {MAX_WORDS}")
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


def is_latin_word(word: str) -> bool:
    """A Latin word that could be misspelt (tengnie, mobilenett): letters, digits, .+#-."""
    return bool(_LATIN_WORD.fullmatch(word.lower()))


def suggest(word: str, vocabulary: dict[str, int]) -> str | None:
    """The indexed word nearest to `word` (ties: the more frequent), or None if none is close."""
    return Speller(vocabulary).suggest(word)


class Speller:
    """Spelling suggestions from the index's Latin words and their document frequencies.

    Candidates start with the same letter and differ in length by at most 2; they are kept in
    buckets by (first letter, length), so a suggestion reads a few short lists at any size.
    """

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self._frequency = vocabulary
        self._known: dict[str, str | None] = {}  # suggestions already made (bounded)
        self._buckets: dict[tuple[str, int], list[str]] = {}
        for word in vocabulary:
            self._buckets.setdefault((word[0], len(word)), []).append(word)

    def suggest(self, word: str) -> str | None:
        lowered = word.lower()
        if lowered not in self._known:
            if len(self._known) >= KNOWN_MAX:
                self._known.clear()
            self._known[lowered] = self._nearest(lowered)
        return self._known[lowered]

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


class Synonyms:
    """Groups of words that mean the same; lookups are case-insensitive."""

    def __init__(self, groups: Iterable[Iterable[str]] = ()) -> None:
        self._others: dict[str, set[str]] = {}
        for group in groups:
            words = {w.strip().lower() for w in group if w and w.strip()}
            for word in words:
                self._others.setdefault(word, set()).update(words - {word})

    @classmethod
    def load(cls, extra: Path | None = None) -> Synonyms:
        """The built-in table plus the editor's file (archive.synonyms), if any."""
        groups = _read_groups(BUILTIN_SYNONYMS)
        if extra is not None:
            groups += _read_groups(extra)
        return cls(groups)

    def of(self, word: str) -> tuple[str, ...]:
        """The other words of `word`'s groups, sorted; () when it has none."""
        return tuple(sorted(self._others.get(word.lower(), ())))


def _read_groups(path: Path) -> list[list[str]]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"synonyms file {path} does not exist; fix archive.synonyms") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0]
        raise ArchiveError(f"cannot read synonyms file {path}: {reason}") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(
        isinstance(group, list) and all(isinstance(w, str | int | float) for w in group)
        for group in data
    ):
        raise ArchiveError(
            f"synonyms file {path} must be a YAML list of word lists, e.g. - [量化, quantization]"
        )
    return [[str(w) for w in group] for group in data]
