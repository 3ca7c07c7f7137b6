"""Cutting a phrase typed without spaces into the index's words."""

from __future__ import annotations

from index.search.query import split_phrase

KNOWN = {"模型", "模型量化", "量化", "部署", "手机", "推理", "tvm"}


def test_longest_known_words_left_to_right_single_characters_left_out() -> None:
    assert split_phrase("模型量化部署", KNOWN.__contains__) == ["模型量化", "部署"]
    assert split_phrase("手机的推理", KNOWN.__contains__) == ["手机", "推理"]
    assert split_phrase("如何做模型部署", KNOWN.__contains__) == ["模型", "部署"]
    assert split_phrase("TVM部署", KNOWN.__contains__) == ["tvm", "部署"]
    known = KNOWN.__contains__
    assert split_phrase("Paddle-Lite手机部署", known) == ["paddle-lite", "手机", "部署"]


def test_nothing_known_gives_only_the_latin_parts() -> None:
    assert split_phrase("的的的", KNOWN.__contains__) == []
    assert split_phrase("部署部署", KNOWN.__contains__) == ["部署"]


def test_words_lose_punctuation_at_both_ends_but_keep_a_closing_plus_or_hash() -> None:
    from index.search.query import parse_query

    assert parse_query("「量化」！ C++, #TVM、 __int8__ C#。").words == (
        "量化",
        "C++",
        "TVM",
        "int8",
        "C#",
    )


def test_trimming_takes_off_exactly_the_non_word_characters_at_the_ends() -> None:
    """The pattern against the rule written character by character, on random pieces."""
    import random

    from index.search.query import _trim
    from index.text import WORDLIKE

    def by_characters(piece: str) -> str:
        start, end = 0, len(piece)
        while start < end and not WORDLIKE.match(piece[start]):
            start += 1
        while end > start and not WORDLIKE.match(piece[end - 1]) and piece[end - 1] not in "+#":
            end -= 1
        return piece[start:end]

    rng = random.Random(5)
    alphabet = "ab量化_+#!。 \n-.9Ａ"
    for _ in range(20_000):
        piece = "".join(rng.choice(alphabet) for _ in range(rng.randrange(10)))
        assert _trim(piece) == by_characters(piece), piece
