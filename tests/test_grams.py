"""The bigram offsets find every occurrence of a word, exactly, as a byte search would."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from index.ingest.grams import write_grams as write
from index.substring.grams import Grams


def byte_offsets(text: str, word: str) -> list[int]:
    """Every offset (overlapping ones too) where `word` starts in `text`, as UTF-8."""
    data, needle, found = text.encode("utf-8"), word.encode("utf-8"), []
    at = data.find(needle)
    while at != -1:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


def grams_of(tmp_path: Path, text: str) -> Grams:
    write(tmp_path, text)
    return Grams(tmp_path)


def test_every_occurrence_of_random_words_in_random_text(tmp_path: Path) -> None:
    rng = random.Random(7)
    alphabet = "aab量化量🙂é \n\0"
    text = "".join(rng.choice(alphabet) for _ in range(5000))
    grams = grams_of(tmp_path, text)
    pieces = [p for p in text.replace("\0", " ").split() if len(p) >= 2]
    words = {p[i : i + n] for p in pieces for n in range(2, 7) for i in range(len(p) - n + 1)}
    words |= {"量量", "aaaa", "🙂🙂", "éa", "zz"}
    for word in sorted(words):
        found = grams.occurrences(word)
        assert found is not None
        assert found.tolist() == byte_offsets(text, word), word


@pytest.mark.parametrize(
    ("word", "offsets"),
    [("aa", [0, 1, 2]), ("aaa", [0, 1]), ("aaaa", [0]), ("aaaaa", []), ("a b", []), ("ab", [])],
)
def test_overlapping_occurrences_and_no_match_across_a_break(
    tmp_path: Path, word: str, offsets: list[int]
) -> None:
    grams = grams_of(tmp_path, "aaaa\0b a\nb")
    found = grams.occurrences(word)
    assert found is not None and found.tolist() == offsets


def test_a_single_character_has_no_bigram_and_an_empty_text_finds_nothing(tmp_path: Path) -> None:
    grams = grams_of(tmp_path, "")
    assert grams.occurrences("a") is None
    found = grams.occurrences("ab")
    assert found is not None and found.tolist() == []


def test_a_text_of_very_many_distinct_characters_is_indexed_too(tmp_path: Path) -> None:
    rng = random.Random(11)
    alphabet = [chr(c) for c in range(0x4E00, 0xA000)] + [chr(c) for c in range(0x20000, 0x2A000)]
    assert len(alphabet) > 46_340  # more than the one-sort path handles: every one is used
    text = "".join(rng.sample(alphabet, len(alphabet)) + rng.choices(alphabet, k=100_000))
    grams = grams_of(tmp_path, text)
    for start in rng.sample(range(len(text) - 5), 50):
        word = text[start : start + rng.randint(2, 5)]
        found = grams.occurrences(word)
        assert found is not None and found.tolist() == byte_offsets(text, word), word
