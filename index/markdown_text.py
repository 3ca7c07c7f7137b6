"""Inline markdown of one line -> plain text and links, with markdown-it-py.

The parser module works line by line; this module turns one line's inline markdown (links,
emphasis, images, HTML, escapes, entities) into plain text, and splits a bullet line into the
text before its first link, its links and the text after them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

# A pure parser object (no I/O, no per-call state): created once, shared by every call.
_MD = MarkdownIt("commonmark", {"html": True})

# Characters that may start inline markdown; a line without any of them is already plain text.
_SPECIAL = re.compile(r"[\[\]*_`<>&\\!~]")
_TITLE_SEPARATORS = ("|", "｜")  # ASCII bar and the full-width bar some issues use


@dataclass(frozen=True)
class InlineLink:
    text: str  # plain text of the link's label
    url: str


@dataclass(frozen=True)
class BulletLine:
    """A bullet line cut at its links: `prefix [first](url) … [later](url) … rest`."""

    prefix: str  # plain text before the first link
    links: tuple[InlineLink, ...] = ()
    rest: str = ""  # plain text after the first link that is not a link itself


def _children(text: str) -> list[Token]:
    tokens = _MD.parseInline(text)
    return list(tokens[0].children or []) if tokens else []


def _token_text(token: Token) -> str:
    """The plain text a token contributes: text and code; images, HTML and markup give ""."""
    if token.type in ("text", "code_inline"):
        return token.content
    if token.type in ("softbreak", "hardbreak"):
        return " "
    return ""


def plain_text(text: str) -> str:
    """Inline markdown -> plain text: links become their text, images/HTML/emphasis vanish."""
    if not _SPECIAL.search(text):
        return text
    return "".join(_token_text(t) for t in _children(text))


def split_bullet(text: str) -> BulletLine:
    """Cut a bullet's text (marker removed) into prefix, links and remaining text."""
    if "](" not in text:
        return BulletLine(prefix=plain_text(text))
    prefix: list[str] = []
    rest: list[str] = []
    links: list[InlineLink] = []
    label: list[str] | None = None  # collecting a link's label
    href = ""
    for token in _children(text):
        if token.type == "link_open":
            label, href = [], str(token.attrs.get("href", ""))
        elif token.type == "link_close" and label is not None:
            links.append(InlineLink("".join(label).strip(), href))
            label = None
        elif label is not None:
            label.append(_token_text(token))
        else:
            (rest if links else prefix).append(_token_text(token))
    return BulletLine("".join(prefix), tuple(links), "".join(rest))


def split_title(text: str) -> tuple[str, str]:
    """`title | source` -> (title, source), cut at the LAST bar; source "" without a bar."""
    cut = max(text.rfind(sep) for sep in _TITLE_SEPARATORS)
    if cut < 0:
        return text.strip(), ""
    return text[:cut].strip(), text[cut + 1 :].strip()
