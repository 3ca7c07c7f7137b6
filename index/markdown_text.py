"""The newsletter's markdown line by line: inline markdown -> plain text and links (markdown-it).

index.parse walks an issue line by line; this module knows what one line is (heading, rule,
bullet, editor's note), turns its inline markdown (links, emphasis, images, HTML, escapes,
entities) into plain text, and cuts a bullet line into the text before its first link, its
links and the text after them.
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

ARCHIVE_HEADING = "往期回顾"  # the section of links to older issues: not content
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
BULLET = re.compile(r"^ ?[-–*+][ \t]+(\S.*)$")  # top level: at most one space of indent
EMPTY_BULLET = re.compile(r"^ ?[-–*+][ \t]*$")
SUMMARY_LABEL = re.compile(r"^摘要[ \t]*[：:]?[ \t]*")  # 摘要：, 摘要: or a bare 摘要
_NESTED_MARKER = re.compile(r"^[-–*+][ \t]+")
_NOTE = re.compile(r"^注[ \t]*[：:]")


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


def summary_line(raw: str) -> str:
    """A line under an entry as plain text: no quote or bullet marker, no 摘要 label."""
    text = raw.lstrip(">").strip() if raw.startswith(">") else raw
    text = plain_text(_NESTED_MARKER.sub("", text)).strip()
    return SUMMARY_LABEL.sub("", text).strip()


def front_matter_end(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for i in range(1, min(len(lines), 50)):
            if lines[i].strip() in ("---", "..."):
                return i + 1
    return 0


def footer_start(lines: list[str], start: int) -> int:
    """The first rule after the last content section: the footer (WeChat, Editor, licence)."""
    last = None
    for i in range(start, len(lines)):
        if heading_level(lines[i]) == 2 and ARCHIVE_HEADING not in lines[i]:
            last = i
    for i in range(len(lines) if last is None else last + 1, len(lines)):
        if RULE.match(lines[i]):
            return i
    return len(lines)


def heading_level(line: str) -> int:
    match = HEADING.match(line) if line.lstrip(" ").startswith("#") else None
    return len(match.group(1)) if match else 0


def heading_parts(line: str) -> tuple[int, str]:
    match = HEADING.match(line)
    if not match:
        return 0, ""
    name = re.sub(r"[ \t]+#+[ \t]*$", "", match.group(2) or "")
    return len(match.group(1)), plain_text(name).strip()


def is_note(stripped: str) -> bool:
    """`> 注：…` or `<font>注：…</font>`: an editor's note, not content."""
    if stripped[:1] not in ("<", ">"):
        return False
    return bool(_NOTE.match(plain_text(stripped.lstrip("> ")).strip()))


def quote_text(stripped: str) -> str:
    return plain_text(stripped.lstrip(">").strip()).strip()


def unbracket(label: str) -> str:
    label = label.strip()
    while label.startswith("[") and label.endswith("]"):
        label = label[1:-1].strip()
    return label


def excerpt(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width] + "…"
