"""Rendering: everything escaped, words marked after escaping, only http(s) addresses linked."""

from __future__ import annotations

from bot.web.render import Renderer, marked, rich


def test_marked_escapes_first_then_marks_any_case() -> None:
    out = marked("<b>TengineKit</b> & tengine", ["Tengine"])
    assert out == "&lt;b&gt;<mark>Tengine</mark>Kit&lt;/b&gt; &amp; <mark>tengine</mark>"
    assert marked("<script>", ["script"]) == "&lt;<mark>script</mark>&gt;"
    assert marked("a<b", None) == "a&lt;b"
    assert marked("量化与低比特量化", ["量化", "低比特量化"]) == (
        "<mark>量化</mark>与<mark>低比特量化</mark>"  # the longest word first
    )


def test_a_word_with_regex_characters_is_a_word() -> None:
    assert marked("C++ and C", ["c++"]) == "<mark>C++</mark> and C"


def test_rich_links_http_addresses_only_and_escapes_them() -> None:
    out = rich('代码：https://github.com/a/b?x=1&y="2" 与 javascript:alert(1)', ["代码"])
    assert '<a href="https://github.com/a/b?x=1&amp;y=" rel="noopener nofollow">' in out
    assert "<mark>代码</mark>" in out
    assert "javascript:alert(1)" in out and 'href="javascript' not in out
    assert rich("见 https://arxiv.org/abs/1，很好。") == (
        '见 <a href="https://arxiv.org/abs/1" rel="noopener nofollow">https://arxiv.org/abs/1</a>，很好。'
    )


def test_templates_escape_what_they_are_given() -> None:
    renderer = Renderer("https://bot.example.com")
    html = renderer.html("missing.html", heading="<i>x</i>", message="<script>", issues=[],
                         near_title="")  # fmt: skip
    assert "<script>" not in html and "&lt;script&gt;" in html and "<i>" not in html
    assert renderer.css.startswith("/*")
