"""Writing the files of the exact search, right after the Whoosh commit: one record per live
Whoosh document, in document order (read by index/substring/haystack.py and
index/search/generation.py):

    haystack.bin     the lower-cased text of each record (index/substring/haystack.py)
    grams.*          where each character bigram occurs in it (index/substring/grams.py)
    entries.bin      the displayed fields of each record, each a pickled tuple of strings (as
                     Whoosh stores its stored fields), one after the other
    records.json     {"docnums", "issues", "sections", "starts", "title_ends", "entry_starts",
                      "lengths": {"title": [...], "body": [...]}}  (lengths: Whoosh's, for BM25;
                      starts and title_ends: byte offsets in haystack.bin)
    vocabulary.json  the Latin words of the index with document frequencies (for suggestions)
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from index.ingest.grams import write_grams
from index.layout import ENTRIES, ENTRY_FIELDS, RECORDS, VOCABULARY, Shown
from index.substring.grams import FILES as GRAM_FILES
from index.substring.haystack import SEP, TEXT
from index.text import is_latin_word

FILES = (TEXT, ENTRIES, RECORDS, VOCABULARY, *GRAM_FILES)  # written anew for each generation


def _flat(text: str) -> str:
    """Lower case, every run of whitespace (and NUL) one space: so that a phrase of several
    words (neural network) is found whatever spacing or line breaks the entry had."""
    return " ".join(text.replace(SEP, " ").lower().split())


def record_parts(fields: dict[str, Any]) -> tuple[str, str]:
    """The searchable text of one stored entry, lower-cased, whitespace normalised: its title,
    and the rest (source, tags, summary); the record's text is the two joined by a newline."""
    rest = [fields.get("source", ""), " ".join(fields.get("tags", ())), fields.get("summary", "")]
    return _flat(fields.get("title", "")), "\n".join(_flat(part) for part in rest)


def _shown(fields: dict[str, Any]) -> Shown:
    """The displayed fields of a stored entry, in ENTRY_FIELDS order."""
    issue, section, title, source, url, summary = (fields.get(n, "") for n in ENTRY_FIELDS[:6])
    tags = tuple(fields.get("tags", ()))
    return (issue, section, title, source, url, summary, tags, fields.get("pos", 0))


def _write_joined(path: Path, data: list[bytes]) -> list[int]:
    """Write each chunk followed by NUL; returns the byte offsets of the chunks plus the end."""
    starts, offset = [], 0
    for chunk in data:
        starts.append(offset)
        offset += len(chunk) + 1
    starts.append(offset)
    path.write_bytes(b"".join(chunk + b"\0" for chunk in data))
    return starts


def write_haystack(gen_dir: Path, reader: Any) -> int:
    """Write the files of a committed Whoosh index (its reader); returns the record count."""
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
    """Indexed Latin words (3+ letters) of the live documents with their document frequencies,
    for spelling. Whoosh's lexicon still holds the words of deleted documents (an issue
    ingested again) and counts them: a word whose count could be all deleted documents is
    kept only if a live document has it, so a word gone from the archive is never suggested."""
    deleted = reader.doc_count_all() - reader.doc_count()
    vocab: dict[str, int] = {}
    for fieldname in ("title", "body"):
        for term in reader.lexicon(fieldname):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if len(word) < 3 or word[0] >= "\x80" or not is_latin_word(word):
                continue
            frequency = reader.doc_frequency(fieldname, word)
            if frequency <= deleted and not reader.postings(fieldname, word).is_active():
                continue  # only in deleted documents (postings skip those)
            vocab[word] = vocab.get(word, 0) + frequency
    return vocab
