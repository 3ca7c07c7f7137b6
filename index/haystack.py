"""Exact, case-insensitive substring lookup over every entry: the recall half of a search.

jieba keeps OpenCV4.3 or TengineKit as one word and may cut 量化 out of a sentence differently
from the query, so word matching alone misses entries. Each index generation therefore also
holds, one record per live Whoosh document in document order, written right after the commit:

    haystack.bin   the lower-cased text of each record (title, source, tags, summary, joined by
                   newlines), UTF-8, each followed by "\\0"
    entries.bin    the displayed fields of each record, each a pickled tuple (as Whoosh stores
                   its stored fields), one after the other
    records.json   {"docnums", "issues", "sections", "starts", "title_ends", "entry_starts",
                    "lengths": {"title": [...], "body": [...]}}  (lengths: Whoosh's, for BM25;
                    starts and title_ends: byte offsets in haystack.bin)
    grams.*        where each character bigram occurs in haystack.bin (index/grams.py)
    vocabulary.json  the Latin words of the index with document frequencies (for suggestions)

`Haystack.find(word)` gives exactly the records whose text contains the word, and those whose
title does: the word's occurrences come from the bigram offsets (index/grams.py), each is
placed in its record by binary search over the records' starts, and it lies in the title when
it ends before the title does (the title comes first). A word of one character has no bigram:
then the text is scanned once, a record at a time. Opening reads records.json; the texts, the
offsets and the entries stay on disk, memory-mapped.
"""

from __future__ import annotations

import json
import mmap
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from index.grams import FILES as GRAM_FILES
from index.grams import Grams
from index.grams import write as write_grams
from index.records import NONE, distinct

TEXT = "haystack.bin"
ENTRIES = "entries.bin"
RECORDS = "records.json"
VOCABULARY = "vocabulary.json"
FILES = (TEXT, ENTRIES, RECORDS, VOCABULARY, *GRAM_FILES)  # written anew for each generation
SEP = "\x00"
ENTRY_FIELDS = ("issue", "section", "title", "source", "url", "summary", "tags", "pos")


def record_parts(fields: dict[str, Any]) -> tuple[str, str]:
    """The searchable text of one stored entry, lower-cased: its title, and the rest (source,
    tags, summary); the record's text is the two joined by a newline."""
    rest = [fields.get("source", ""), " ".join(fields.get("tags", ())), fields.get("summary", "")]
    title = fields.get("title", "").replace(SEP, " ").lower()
    return title, "\n".join(rest).replace(SEP, " ").lower()


def _shown(fields: dict[str, Any]) -> tuple[Any, ...]:
    """The displayed fields of a stored entry, in ENTRY_FIELDS order."""
    text = tuple(fields.get(name, "") for name in ENTRY_FIELDS[:6])
    return (*text, tuple(fields.get("tags", ())), fields.get("pos", 0))


def _write_joined(path: Path, data: list[bytes]) -> list[int]:
    """Write each chunk followed by NUL; returns the byte offsets of the chunks plus the end."""
    starts, offset = [], 0
    for chunk in data:
        starts.append(offset)
        offset += len(chunk) + 1
    starts.append(offset)
    path.write_bytes(b"".join(chunk + b"\0" for chunk in data))
    return starts


def write(gen_dir: Path, reader: Any) -> int:
    """Write the haystack of a committed Whoosh index (its reader); returns the record count."""
    records: dict[str, Any] = {"docnums": [], "issues": [], "sections": []}
    lengths: dict[str, list[int]] = {"title": [], "body": []}
    texts: list[str] = []
    title_bytes: list[int] = []
    entries: list[bytes] = []
    for docnum, fields in reader.iter_docs():
        records["docnums"].append(docnum)
        records["issues"].append(fields["issue"])
        records["sections"].append(fields["section"])
        for name, column in lengths.items():
            column.append(reader.doc_field_length(docnum, name) or 0)
        title, rest = record_parts(fields)
        texts.append(f"{title}\n{rest}")
        title_bytes.append(len(title.encode("utf-8")))
        entries.append(pickle.dumps(_shown(fields), protocol=pickle.HIGHEST_PROTOCOL))
    starts = _write_joined(gen_dir / TEXT, [text.encode("utf-8") for text in texts])
    records["starts"] = starts
    records["title_ends"] = [start + size for start, size in zip(starts, title_bytes, strict=False)]
    records["entry_starts"] = _write_joined(gen_dir / ENTRIES, entries)
    records["lengths"] = lengths
    (gen_dir / RECORDS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    count = len(texts)
    joined = "".join(text + SEP for text in texts)
    del texts, entries, records  # the bigram offsets need the memory
    write_grams(gen_dir, joined)
    vocabulary = json.dumps(latin_vocabulary(reader), ensure_ascii=False)
    (gen_dir / VOCABULARY).write_text(vocabulary, encoding="utf-8")
    return count


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
    """The records of one generation: texts and offsets memory-mapped, record data in lists."""

    def __init__(self, gen_dir: Path) -> None:
        records = json.loads((gen_dir / RECORDS).read_text(encoding="utf-8"))
        self.docnums: list[int] = records["docnums"]
        self.issues: list[str] = records["issues"]
        self.sections: list[str] = records["sections"]
        self.lengths: dict[str, list[int]] = records["lengths"]
        self._starts = np.array(records["starts"], dtype=np.int64)
        self._title_ends = np.array(records["title_ends"], dtype=np.int64)
        self._entry_starts: list[int] = records["entry_starts"]
        self._text = _map(gen_dir / TEXT)
        self._entries = _map(gen_dir / ENTRIES)
        self.grams = Grams(gen_dir)
        self._by_section: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.docnums)

    def close(self) -> None:
        self.grams.close()
        for mapped in (self._text, self._entries):
            if isinstance(mapped, mmap.mmap):
                mapped.close()

    def find(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """Records whose title, source, tags or summary contain `word` (any case), and those
        whose title does; both ascending."""
        lowered = word.lower()
        needle = lowered.encode("utf-8")
        if not needle or SEP in lowered or any(c.isspace() for c in lowered):
            return NONE, NONE
        found = self.grams.occurrences(lowered)
        at = self._scan(needle) if found is None else found.astype(np.int64)
        records = np.searchsorted(self._starts, at, side="right") - 1
        in_title = at + len(needle) <= self._title_ends[records]
        return distinct(records), distinct(records[in_title])

    def _scan(self, needle: bytes) -> np.ndarray:
        """The first offset of `needle` in each record holding it: one pass over all texts,
        skipping to the next record (a title's occurrence is its record's first)."""
        text, starts, found = self._text, self._starts, []
        at = text.find(needle)
        while at != -1:
            found.append(at)
            record = int(np.searchsorted(starts, at, side="right")) - 1
            at = text.find(needle, int(starts[record + 1]))
        return np.array(found, dtype=np.int64)

    def in_section(self, section: str) -> np.ndarray:
        """Whether each record is of `section` (computed once per section)."""
        if section not in self._by_section:
            names = np.array(self.sections, dtype=object)
            self._by_section[section] = names == section
        return self._by_section[section]

    def entry(self, record: int) -> tuple[Any, ...]:
        """The displayed fields of a record, in ENTRY_FIELDS order (issue, section, title, ...)."""
        start, end = self._entry_starts[record], self._entry_starts[record + 1] - 1
        return pickle.loads(self._entries[start:end])  # type: ignore[no-any-return]
