"""Exact, case-insensitive substring lookup over every entry: the recall half of a search.

jieba keeps OpenCV4.3 or TengineKit as one word and may cut 量化 out of a sentence differently
from the query, so word matching alone misses entries. Each index generation therefore also
holds the lower-cased text of its entries (title, source, tags, summary), one record per Whoosh
document in document order, written right after the commit:

    haystack.txt   "\\0" + text of record 0 + "\\0" + text of record 1 ...
    titles.txt     the same with the titles only
    records.json   {"docnums": [...], "issues": [...], "sections": [...], "starts": [...],
                    "title_starts": [...]}
    vocabulary.json  the Latin words of the index with document frequencies (for suggestions)

`Haystack.find(*words)` returns the records whose text contains one of the words: one C-level
regular expression scan that skips to the next record after each hit. Nothing can be missed,
and nothing that does not contain the word is returned. The cost grows with the archive
(about 25 ms per scan per 10 million characters on the 2-core machine).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from pathlib import Path
from typing import Any

TEXT = "haystack.txt"
TITLES = "titles.txt"
RECORDS = "records.json"
VOCABULARY = "vocabulary.json"
SEP = "\x00"


def record_text(fields: dict[str, Any]) -> str:
    """The searchable text of one stored entry, lower-cased; fields joined by newlines."""
    parts = [fields.get("title", ""), fields.get("source", ""), " ".join(fields.get("tags", ()))]
    parts.append(fields.get("summary", ""))
    return "\n".join(parts).replace(SEP, " ").lower()


def _starts(texts: list[str]) -> list[int]:
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1
    return starts


def write(gen_dir: Path, reader: Any) -> int:
    """Write the haystack of a committed Whoosh index (its reader); returns the record count."""
    docnums: list[int] = []
    issues: list[str] = []
    sections: list[str] = []
    texts: list[str] = []
    titles: list[str] = []
    for docnum, fields in reader.iter_docs():
        docnums.append(docnum)
        issues.append(fields["issue"])
        sections.append(fields["section"])
        texts.append(record_text(fields))
        titles.append(fields.get("title", "").replace(SEP, " ").lower())
    (gen_dir / TEXT).write_text("".join(SEP + t for t in texts), encoding="utf-8")
    (gen_dir / TITLES).write_text("".join(SEP + t for t in titles), encoding="utf-8")
    records = {
        "docnums": docnums,
        "issues": issues,
        "sections": sections,
        "starts": _starts(texts),
        "title_starts": _starts(titles),
    }
    (gen_dir / RECORDS).write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    vocabulary = json.dumps(latin_vocabulary(reader), ensure_ascii=False)
    (gen_dir / VOCABULARY).write_text(vocabulary, encoding="utf-8")
    return len(docnums)


def latin_vocabulary(reader: Any) -> dict[str, int]:
    """Indexed Latin words (3+ letters) with their document frequencies, for spelling."""
    from index.query import is_latin_word

    vocab: dict[str, int] = {}
    for fieldname in ("title", "body"):
        for term in reader.lexicon(fieldname):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if len(word) >= 3 and is_latin_word(word):
                vocab[word] = vocab.get(word, 0) + reader.doc_frequency(fieldname, word)
    return vocab


def read_vocabulary(gen_dir: Path) -> dict[str, int]:
    return json.loads((gen_dir / VOCABULARY).read_text(encoding="utf-8"))


class Haystack:
    """The records of one generation, loaded into memory (a few hundred KB for the corpus)."""

    def __init__(self, gen_dir: Path) -> None:
        self.text = (gen_dir / TEXT).read_text(encoding="utf-8")
        self.titles = (gen_dir / TITLES).read_text(encoding="utf-8")
        records = json.loads((gen_dir / RECORDS).read_text(encoding="utf-8"))
        self.docnums: list[int] = records["docnums"]
        self.issues: list[str] = records["issues"]
        self.sections: list[str] = records["sections"]
        self._starts: list[int] = records["starts"]
        self._title_starts: list[int] = records["title_starts"]
        self.record_of = {docnum: i for i, docnum in enumerate(self.docnums)}
        self._by_section: dict[str, set[int]] = {}

    def __len__(self) -> int:
        return len(self.docnums)

    @staticmethod
    def _scan(text: str, starts: list[int], words: list[str]) -> set[int]:
        """Records holding any of `words`: one scan, skipping to the next record after a hit."""
        alternatives = "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))
        pattern = re.compile(f"(?:{alternatives})[^\x00]*")
        return {bisect_right(starts, m.start()) - 1 for m in pattern.finditer(text)}

    def find(self, *words: str) -> set[int]:
        """Records whose title, source, tags or summary contain any of `words` (any case)."""
        return self._scan(self.text, self._starts, list(words))

    def find_in_titles(self, *words: str) -> set[int]:
        """Records whose title contains any of `words` (case-insensitive)."""
        return self._scan(self.titles, self._title_starts, list(words))

    def having(self, records: set[int], word: str, titles: bool = False) -> set[int]:
        """Those of `records` whose text (or title) contains `word`: no scan of the rest."""
        text, starts = (self.titles, self._title_starts) if titles else (self.text, self._starts)
        lowered, last = word.lower(), len(starts) - 1
        return {
            r
            for r in records
            if lowered in text[starts[r] : starts[r + 1] if r < last else len(text)]
        }

    def in_section(self, section: str) -> set[int]:
        """Records of one section (computed once per section)."""
        if section not in self._by_section:
            self._by_section[section] = {i for i, n in enumerate(self.sections) if n == section}
        return self._by_section[section]
