"""The newsletter's markdown line by line: inline markdown -> plain text and links (markdown-it).

parser.py walks an issue line by line; this module knows what one line is (heading, rule, bullet,
editor's note), turns its inline markdown (links, emphasis, images, HTML, escapes, entities)
into plain text, and reads a bullet line: tags, title and source, links, the text after them.
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
# markdown-it's link and emphasis scans grow faster than linearly on lines full of brackets or
# stars; real lines are under 1,000 characters with a few dozen of them. Beyond these bounds a
# line is kept as raw text (the parser warns), so crafted input cannot make parsing crawl.
MAX_MARKDOWN_LINE = 5000
MAX_MARKUP_CHARS = 200

ARCHIVE_HEADING = "往期回顾"  # the section of links to older issues: not content
HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
BULLET = re.compile(r"^ ?[-–*+][ \t]+(\S.*)$")  # top level: at most one space of indent
EMPTY_BULLET = re.compile(r"^ ?[-–*+][ \t]*$")
SUMMARY_LABEL = re.compile(r"^摘要[ \t]*[：:]?[ \t]*")  # 摘要：, 摘要: or a bare 摘要
_NESTED_MARKER = re.compile(r"^[-–*+][ \t]+")
_NOTE = re.compile(r"^注[ \t]*[：:]")
_INTRO_LABEL = re.compile(r"^导读[ \t]*[：:]?[ \t]*")
_BOLD_LINE = re.compile(r"^\*\*[^*].*\*\*$")
_TAG = re.compile(r"\[([^\[\]]+)\]")
_BARE_TARGET = re.compile(r"\((\S+)\)")


@dataclass(frozen=True)
class InlineLink:
    text: str  # plain text of the link's label
    url: str


@dataclass(frozen=True)
class BulletLine:
    """A bullet read: `[tag] [title | source](url) [[label]](url) rest`, all plain text."""

    title: str
    source: str = ""
    url: str = ""  # the first link's target
    tags: tuple[str, ...] = ()  # bracketed words before the first link
    links: tuple[InlineLink, ...] = ()  # the later links, labels without their brackets
    rest: str = ""  # the text after the first link that is no link; a warm-up's summary
    linked: bool = False  # the bullet has a link


def too_much_markup(text: str) -> bool:
    """True for a line too long or too full of markup characters to be read as markdown."""
    if len(text) <= MAX_MARKUP_CHARS:
        return False
    return len(text) > MAX_MARKDOWN_LINE or len(_SPECIAL.findall(text)) > MAX_MARKUP_CHARS


def _children(text: str) -> list[Token]:
    if too_much_markup(text):
        return [Token("text", "", 0, content=text)]
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


def _cut_links(text: str) -> tuple[str, list[InlineLink], str]:
    """Inline markdown -> (plain text before the first link, links, plain text after)."""
    if "](" not in text:
        return plain_text(text), [], ""
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
    return "".join(prefix), links, "".join(rest)


def read_bullet(text: str) -> BulletLine:
    """An entry's bullet (marker removed); without a link its text is `title | source`."""
    prefix, links, rest = _cut_links(text)
    if not links:
        return BulletLine(*split_title(prefix))
    first, *later = links
    tags = tuple(tag.strip() for tag in _TAG.findall(prefix) if tag.strip())
    title, source = split_title(_TAG.sub("", prefix).strip() + first.text)
    others = tuple(InlineLink(unbracket(link.text), link.url) for link in later)
    rest = rest.strip()
    bare = _BARE_TARGET.fullmatch(rest)
    if bare and bare.group(1) in {first.url, *(link.url for link in others)}:
        rest = ""  # "[title](url)(url)": the target written twice
    return BulletLine(title, source, first.url, tags, others, rest, linked=True)


def read_warmup(text: str, title_max: int) -> BulletLine:
    """A warm-up news bullet `华为：…`: the text before its first colon is the title when at
    most `title_max` characters, the rest the summary; else the whole bullet is the title."""
    words = plain_text(text).strip().rstrip(";；").strip()
    links = _cut_links(text)[1] if "](" in text else []
    url = links[0].url if links else ""
    others = tuple(InlineLink(unbracket(link.text), link.url) for link in links[1:])
    cut = min((i for i in (words.find("："), words.find(":")) if i > 0), default=-1)
    if cut > 0 and len(words[:cut].strip()) <= title_max:
        title, summary = words[:cut].strip(), words[cut + 1 :].strip()
        return BulletLine(title, "", url, (), others, summary, bool(links))
    return BulletLine(words, "", url, (), others, "", bool(links))


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
        if is_section_heading(lines[i]):
            last = i
    for i in range(len(lines) if last is None else last + 1, len(lines)):
        if RULE.match(lines[i]):
            return i
    return len(lines)


def heading_level(line: str) -> int:
    match = HEADING.match(line) if line.lstrip(" ").startswith("#") else None
    return len(match.group(1)) if match else 0


def is_section_heading(line: str) -> bool:
    """A `## ` heading of content (not the 往期回顾 links to older issues)."""
    return heading_level(line) == 2 and ARCHIVE_HEADING not in line


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


def is_decoration(stripped: str) -> bool:
    """A note, the **tagline**, an image or bare HTML: nothing of the issue's content."""
    if is_note(stripped) or _BOLD_LINE.match(stripped):
        return True
    return stripped[0] in "!<" and not plain_text(stripped).strip()


def intro_text(stripped: str) -> str | None:
    """`> 导读：text` -> "text" (plain); None for any other line."""
    if not stripped.startswith(">"):
        return None
    text = quote_text(stripped)
    return _INTRO_LABEL.sub("", text) if _INTRO_LABEL.match(text) else None


def quote_text(stripped: str) -> str:
    return plain_text(stripped.lstrip(">").strip()).strip()


def unbracket(label: str) -> str:
    label = label.strip()
    while label.startswith("[") and label.endswith("]"):
        label = label[1:-1].strip()
    return label


def excerpt(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width] + "…"
