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
