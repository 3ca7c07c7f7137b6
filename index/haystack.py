"""Exact, case-insensitive substring lookup over every entry: the recall half of a search.

jieba keeps OpenCV4.3 or TengineKit as one word and may cut 量化 out of a sentence differently
from the query, so word matching alone misses entries. Each index generation therefore also
holds, one record per live Whoosh document in document order, written right after the commit:

    haystack.bin   the lower-cased text of each record (title, source, tags, summary), UTF-8,
                   each followed by "\\0"
    titles.txt     the lower-cased titles, separated by "\\0" (read into memory: they are short)
    entries.bin    the displayed fields of each record, each a pickled tuple (as Whoosh stores
                   its stored fields), one after the other
    records.json   {"docnums", "issues", "sections", "starts", "entry_starts",
                    "lengths": {"title": [...], "body": [...]}}  (lengths: Whoosh's, for BM25)
    grams.*        the bigrams of each text (index/grams.py), to find candidates fast
    vocabulary.json  the Latin words of the index with document frequencies (for suggestions)

`Haystack.find(word)` returns exactly the records whose text contains the word: the records of
the word's rarest bigram, each checked in the memory-mapped text (UTF-8 bytes: a byte substring
of valid UTF-8 starts on a character boundary, so this is the same as a str check). A word of
one character has no bigram: then every record is scanned once. Opening reads records.json and
the titles (short); the texts and entries stay on disk, memory-mapped.
"""

from __future__ import annotations

import json
import mmap
import pickle
from bisect import bisect_right
from pathlib import Path
from typing import Any

from index.grams import Grams
from index.grams import write as write_grams

TEXT = "haystack.bin"
TITLES = "titles.txt"
ENTRIES = "entries.bin"
RECORDS = "records.json"
VOCABULARY = "vocabulary.json"
SEP = "\x00"
ENTRY_FIELDS = ("issue", "section", "title", "source", "url", "summary", "tags", "pos")


def record_text(fields: dict[str, Any]) -> str:
    """The searchable text of one stored entry, lower-cased; fields joined by newlines."""
    parts = [fields.get("title", ""), fields.get("source", ""), " ".join(fields.get("tags", ()))]
    parts.append(fields.get("summary", ""))
    return "\n".join(parts).replace(SEP, " ").lower()


def _shown(fields: dict[str, Any]) -> tuple[Any, ...]:
    """The displayed fields of a stored entry, in ENTRY_FIELDS order."""
    text = tuple(fields.get(name, "") for name in ENTRY_FIELDS[:6])
    return (*text, tuple(fields.get("tags", ())), fields.get("pos", 0))


def _write_joined(path: Path, texts: list[str] | list[bytes]) -> list[int]:
    """Write each text followed by NUL; returns the byte offsets of the texts plus the end."""
    data = [(t.encode("utf-8") if isinstance(t, str) else t) + b"\0" for t in texts]
    starts, offset = [], 0
    for chunk in data:
        starts.append(offset)
        offset += len(chunk)
    starts.append(offset)
    path.write_bytes(b"".join(data))
    return starts


def write(gen_dir: Path, reader: Any) -> int:
    """Write the haystack of a committed Whoosh index (its reader); returns the record count."""
    records: dict[str, Any] = {"docnums": [], "issues": [], "sections": []}
    lengths: dict[str, list[int]] = {"title": [], "body": []}
    texts: list[str] = []
    titles: list[str] = []
    entries: list[bytes] = []
    for docnum, fields in reader.iter_docs():
        records["docnums"].append(docnum)
        records["issues"].append(fields["issue"])
        records["sections"].append(fields["section"])
        for name, column in lengths.items():
            column.append(reader.doc_field_length(docnum, name) or 0)
        texts.append(record_text(fields))
        titles.append(fields.get("title", "").replace(SEP, " ").lower())
        entries.append(pickle.dumps(_shown(fields), protocol=pickle.HIGHEST_PROTOCOL))
    records["starts"] = _write_joined(gen_dir / TEXT, texts)
    (gen_dir / TITLES).write_text(SEP.join(titles), encoding="utf-8")
    records["entry_starts"] = _write_joined(gen_dir / ENTRIES, entries)
    records["lengths"] = lengths
    (gen_dir / RECORDS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    write_grams(gen_dir, texts)
    vocabulary = json.dumps(latin_vocabulary(reader), ensure_ascii=False)
    (gen_dir / VOCABULARY).write_text(vocabulary, encoding="utf-8")
    return len(texts)


def latin_vocabulary(reader: Any) -> dict[str, int]:
    """Indexed Latin words (3+ letters) with their document frequencies, for spelling."""
    from index.query import is_latin_word

    vocab: dict[str, int] = {}
    for fieldname in ("title", "body"):
        for term in reader.lexicon(fieldname):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if len(word) >= 3 and word[0] < "\x80" and is_latin_word(word):
                vocab[word] = vocab.get(word, 0) + reader.doc_frequency(fieldname, word)
    return vocab


def read_vocabulary(gen_dir: Path) -> dict[str, int]:
    return json.loads((gen_dir / VOCABULARY).read_text(encoding="utf-8"))


def _map(path: Path) -> mmap.mmap | bytes:
    with open(path, "rb") as handle:
        if handle.seek(0, 2) == 0:
            return b""
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


class Haystack:
    """The records of one generation: texts memory-mapped, record data in lists."""

    def __init__(self, gen_dir: Path) -> None:
        records = json.loads((gen_dir / RECORDS).read_text(encoding="utf-8"))
        self.docnums: list[int] = records["docnums"]
        self.issues: list[str] = records["issues"]
        self.sections: list[str] = records["sections"]
        self.lengths: dict[str, list[int]] = records["lengths"]
        self._starts: list[int] = records["starts"]
        self._entry_starts: list[int] = records["entry_starts"]
        self._text = _map(gen_dir / TEXT)
        self._titles = (gen_dir / TITLES).read_text(encoding="utf-8").split(SEP)
        self._entries = _map(gen_dir / ENTRIES)
        self.grams = Grams(gen_dir)
        self.record_of = {docnum: i for i, docnum in enumerate(self.docnums)}
        self._by_section: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.docnums)

    def close(self) -> None:
        self.grams.close()
        for mapped in (self._text, self._entries):
            if isinstance(mapped, mmap.mmap):
                mapped.close()

    def find(self, word: str) -> set[int]:
        """Records whose title, source, tags or summary contain `word` (any case)."""
        lowered = word.lower()
        candidates, exact = self.grams.candidates(lowered)
        if candidates is None:
            return self._scan(lowered.encode("utf-8"))
        return candidates if exact else self.having(candidates, lowered)

    def _scan(self, needle: bytes) -> set[int]:
        """Records holding `needle`: one pass over all texts, skipping to the next record."""
        text, starts, found = self._text, self._starts, set()
        at = text.find(needle)
        while at != -1:
            record = bisect_right(starts, at) - 1
            found.add(record)
            at = text.find(needle, starts[record + 1])
        return found

    def having(self, records: Any, word: str) -> set[int]:
        """Those of `records` whose text contains `word` (any case)."""
        text, starts = self._text, self._starts
        needle = word.lower().encode("utf-8")
        find = text.find
        return {r for r in records if find(needle, starts[r], starts[r + 1]) != -1}

    def titled(self, records: Any, word: str) -> set[int]:
        """Those of `records` whose title contains `word` (any case)."""
        lowered, titles = word.lower(), self._titles
        return {r for r in records if lowered in titles[r]}

    def in_section(self, section: str) -> set[int]:
        """Records of one section (computed once per section)."""
        if section not in self._by_section:
            self._by_section[section] = {i for i, n in enumerate(self.sections) if n == section}
        return self._by_section[section]

    def entry(self, record: int) -> tuple[Any, ...]:
        """The displayed fields of a record, in ENTRY_FIELDS order (issue, section, title, ...)."""
        start, end = self._entry_starts[record], self._entry_starts[record + 1] - 1
        return pickle.loads(self._entries[start:end])  # type: ignore[no-any-return]
