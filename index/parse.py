"""A newsletter issue in markdown -> Issue / Section / Entry dataclasses (no I/O but the file read).

The rules, learnt from the 30 real issues in ../shared/corpus (2019-03 to 2021-08), are in the
archive issue (#2) and in the docstrings below. Whatever cannot be placed becomes a ParseWarning
with file and line: never silently dropped, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from index.errors import IssueError
from index.markdown_text import plain_text, split_bullet, split_title

WARMUP_SECTION = "热身新闻"
MAX_FILE_BYTES = 2 * 1024 * 1024  # larger files are rejected before they are read
WARMUP_TITLE_MAX = 20  # a warm-up bullet's text before its first colon is its title up to this

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET = re.compile(r"^ ?[-–*+][ \t]+(\S.*)$")  # top level: at most one space of indent
_EMPTY_BULLET = re.compile(r"^ ?[-–*+][ \t]*$")
_NESTED_MARKER = re.compile(r"^[-–*+][ \t]+")
_SUMMARY_LABEL = re.compile(r"^摘要[ \t]*[：:]?[ \t]*")
_INTRO_LABEL = re.compile(r"^导读[ \t]*[：:]?[ \t]*")
_NOTE = re.compile(r"^注[ \t]*[：:]")
_TAG = re.compile(r"\[([^\[\]]+)\]")
_BARE_TARGET = re.compile(r"\((\S+)\)")
_BOLD_LINE = re.compile(r"^\*\*[^*].*\*\*$")
_ARCHIVE_HEADING = "往期回顾"


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Entry:
    title: str
    source: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    summary: str = ""
    line: int = 0  # 1-based line of the bullet in the file

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "tags": list(self.tags),
            "links": [{"label": link.label, "url": link.url} for link in self.links],
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Section:
    name: str
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class ParseWarning:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Issue:
    date: str  # YYYY-MM-DD
    title: str
    intro: str = ""
    sections: tuple[Section, ...] = ()
    path: str = ""
    warnings: tuple[ParseWarning, ...] = field(default=(), compare=False)

    @property
    def entries(self) -> list[tuple[Section, Entry]]:
        return [(s, e) for s in self.sections for e in s.entries]

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "title": self.title,
            "intro": self.intro,
            "sections": [
                {"name": s.name, "entries": [e.to_dict() for e in s.entries]} for s in self.sections
            ],
        }


def parse_file(path: Path) -> Issue:
    """Read and parse one issue; IssueError (naming the file) when it is not an issue."""
    path = Path(path)
    if path.is_dir():
        raise IssueError(f"{path}: is a directory, not an issue file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise IssueError(
                f"{path}: too large for an issue ({size:,} bytes, at most {MAX_FILE_BYTES:,})"
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise IssueError(f"{path}: no such file") from None
    except OSError as exc:
        raise IssueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise IssueError(f"{path}: too large for an issue (over {MAX_FILE_BYTES:,} bytes)")
    if b"\x00" in data:
        raise IssueError(f"{path}: binary file (NUL bytes), not a markdown issue")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IssueError(f"{path}: not valid UTF-8 (bad byte at offset {exc.start})") from None
    return parse_text(text, str(path))


def parse_text(text: str, name: str = "<text>") -> Issue:
    """Parse an issue's markdown; `name` is used for the date fallback and in warnings."""
    if len(text) > MAX_FILE_BYTES:
        raise IssueError(f"{name}: too large for an issue (over {MAX_FILE_BYTES:,} characters)")
    if "\x00" in text:
        raise IssueError(f"{name}: binary content (NUL characters), not a markdown issue")
    if not text.strip():
        raise IssueError(f"{name}: empty file, not an issue")
    return _Parser(text, name).parse()


@dataclass
class _Draft:
    """An entry being read: its bullet line is parsed, the lines under it are collected."""

    line: int
    title: str
    source: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    head: str = ""  # plain text left on the bullet line after its links
    body: list[str] = field(default_factory=list)  # the raw lines under the bullet

    def entry(self) -> Entry:
        lines = [_SUMMARY_LABEL.sub("", self.head).strip()]
        lines += (_summary_line(raw) for raw in self.body)
        summary = "\n".join(line for line in lines if line)
        return Entry(self.title, self.source, self.url, self.tags, self.links, summary, self.line)


class _Parser:
    """One pass over the lines: front matter, preamble (H1, 导读, warm-up), sections, footer."""

    def __init__(self, text: str, name: str) -> None:
        self.name = name
        self.lines = (
            text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
        )
        self.warnings: list[ParseWarning] = []
        self.sections: list[tuple[str, list[Entry]]] = []
        self.current: list[Entry] | None = None  # entries of the open section; None: skipping
        self.draft: _Draft | None = None
        self.h1: str | None = None
        self.intro: list[str] = []

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(ParseWarning(self.name, line, message))

    def parse(self) -> Issue:
        start = _front_matter_end(self.lines)
        end = _footer_start(self.lines, start)
        first = next((i for i in range(start, end) if _level(self.lines[i]) == 2), end)
        self._preamble(start, first)
        self._sections(first, end)
        issue_date = self._date()
        sections = tuple(Section(name, tuple(entries)) for name, entries in self.sections)
        if not any(section.entries for section in sections):
            raise IssueError(
                f"{self.name}: no newsletter entries found ('## ' sections of '- ' bullets)"
            )
        title = (self.h1 or "").strip().rstrip("：:").strip()
        intro = "\n".join(self.intro).strip()
        return Issue(issue_date, title, intro, sections, self.name, tuple(self.warnings))

    def _date(self) -> str:
        from_name = _valid_date(Path(self.name).stem)
        from_title = _valid_date(self.h1 or "")
        if from_name and from_title and from_name != from_title:
            self.warn(
                1, f"the title's date {from_title} differs from the file name's; using {from_name}"
            )
        found = from_name or from_title
        if not found:
            raise IssueError(
                f"{self.name}: not an issue: no date (YYYY-MM-DD) in its name or '# ' title"
            )
        return found

    def _preamble(self, start: int, end: int) -> None:
        """Before the first section: H1, tagline, 导读 (+ prose after it), warm-up bullets."""
        in_intro = False
        warmup: list[Entry] | None = None
        for i in range(start, end):
            line, stripped = self.lines[i], self.lines[i].strip()
            if not stripped or _RULE.match(line):
                in_intro = False
            elif in_intro and not _BULLET.match(line) and not _is_note(stripped):
                self.intro.append(_quote_text(stripped))  # the paragraph goes on
            elif bullet := _BULLET.match(line):
                in_intro = False
                if warmup is None:
                    warmup = []
                    self.sections.append((WARMUP_SECTION, warmup))
                warmup.append(_warmup_entry(bullet.group(1), i + 1))
            else:
                in_intro = self._preamble_line(stripped, i + 1, after_warmup=warmup is not None)

    def _preamble_line(self, stripped: str, line: int, after_warmup: bool) -> bool:
        """One non-bullet line of the preamble; True when it starts an intro paragraph."""
        level, heading = _heading_parts(stripped)
        if level == 1 and self.h1 is None:
            self.h1 = heading
        elif level:
            self.warn(line, f"heading before the first section ignored: {_excerpt(heading)}")
        elif _is_note(stripped) or _BOLD_LINE.match(stripped) or not plain_text(stripped).strip():
            pass  # "> 注：…", the **tagline**, an image or bare HTML
        elif stripped.startswith(">") and _INTRO_LABEL.match(text := _quote_text(stripped)):
            self.intro.append(_INTRO_LABEL.sub("", text))
            return True
        elif stripped.endswith(("：", ":")):
            pass  # a lead-in such as "好了，先是一些热身小新闻："
        elif self.intro and not after_warmup and not stripped.startswith(">"):
            self.intro.append(plain_text(stripped).strip())  # the editor's intro goes on
            return True
        else:
            self.warn(line, f"text before the first section is not an entry: {_excerpt(stripped)}")
        return False

    def _sections(self, start: int, end: int) -> None:
        for i in range(start, end):
            line = self.lines[i]
            if line.lstrip().startswith("#") and _level(line):
                self._heading(line, i + 1)
            elif self.current is not None:
                self._section_line(line, i + 1)
        self._close()

    def _heading(self, line: str, lineno: int) -> None:
        self._close()
        level, name = _heading_parts(line)
        if level != 2:
            self.warn(lineno, f"not a '## ' section heading, ignored: {_excerpt(name)}")
        elif _ARCHIVE_HEADING in name:
            self.current = None  # 往期回顾: links to older issues, not content
        else:
            if not name:
                self.warn(lineno, "section heading without a name")
            self.current = []
            self.sections.append((name, self.current))

    def _section_line(self, line: str, lineno: int) -> None:
        stripped = line.strip()
        if not stripped or _RULE.match(line) or _is_note(stripped):
            return
        if bullet := _BULLET.match(line):
            self._close()
            self.draft = self._start_entry(bullet.group(1), lineno)
        elif _EMPTY_BULLET.match(line):
            self.warn(lineno, "empty bullet ignored")
        elif self.draft is not None:
            self.draft.body.append(stripped)
        elif plain_text(stripped).strip():
            self.warn(lineno, f"text outside any entry: {_excerpt(stripped)}")

    def _start_entry(self, text: str, lineno: int) -> _Draft:
        """`[tag] [title | source](url) [[label]](url) rest` -> a draft entry."""
        bullet = split_bullet(text)
        if not bullet.links:
            if "](" in text:
                self.warn(lineno, "a link in this bullet could not be read; its text is the title")
            title, source = split_title(bullet.prefix)
            return _Draft(lineno, title, source)
        first, *later = bullet.links
        tags = tuple(tag.strip() for tag in _TAG.findall(bullet.prefix) if tag.strip())
        title, source = split_title(_TAG.sub("", bullet.prefix).strip() + first.text)
        links = tuple(Link(_unbracket(link.text), link.url) for link in later)
        rest = bullet.rest.strip()
        bare = _BARE_TARGET.fullmatch(rest)
        if bare and bare.group(1) in {first.url, *(link.url for link in links)}:
            rest = ""  # "[title](url)(url)": the target written twice
        if not title:
            self.warn(lineno, "entry without a title")
        return _Draft(lineno, title, source, first.url, tags, links, head=rest)

    def _close(self) -> None:
        if self.draft is not None and self.current is not None:
            self.current.append(self.draft.entry())
        self.draft = None


def _warmup_entry(text: str, line: int) -> Entry:
    """`华为：…` -> title 华为 (text before the first colon, when short), summary the rest."""
    words = plain_text(text).strip().rstrip(";；").strip()
    links = split_bullet(text).links
    url = links[0].url if links else ""
    later = tuple(Link(_unbracket(link.text), link.url) for link in links[1:])
    colons = [i for i in (words.find("："), words.find(":")) if i > 0]
    cut = min(colons, default=-1)
    if cut > 0 and len(words[:cut].strip()) <= WARMUP_TITLE_MAX:
        return Entry(words[:cut].strip(), "", url, (), later, words[cut + 1 :].strip(), line)
    return Entry(words, "", url, (), later, "", line)


def _summary_line(raw: str) -> str:
    """A line under an entry as plain text: no quote or bullet marker, no 摘要 label."""
    text = raw.lstrip(">").strip() if raw.startswith(">") else raw
    text = plain_text(_NESTED_MARKER.sub("", text)).strip()
    return _SUMMARY_LABEL.sub("", text).strip()


def _front_matter_end(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for i in range(1, min(len(lines), 50)):
            if lines[i].strip() in ("---", "..."):
                return i + 1
    return 0


def _footer_start(lines: list[str], start: int) -> int:
    """The first rule after the last content section: the footer (WeChat, Editor, licence)."""
    last = None
    for i in range(start, len(lines)):
        if _level(lines[i]) == 2 and _ARCHIVE_HEADING not in lines[i]:
            last = i
    for i in range(len(lines) if last is None else last + 1, len(lines)):
        if _RULE.match(lines[i]):
            return i
    return len(lines)


def _level(line: str) -> int:
    match = _HEADING.match(line) if line.lstrip(" ").startswith("#") else None
    return len(match.group(1)) if match else 0


def _heading_parts(line: str) -> tuple[int, str]:
    match = _HEADING.match(line)
    if not match:
        return 0, ""
    name = re.sub(r"[ \t]+#+[ \t]*$", "", match.group(2) or "")
    return len(match.group(1)), plain_text(name).strip()


def _valid_date(text: str) -> str | None:
    for match in _DATE.finditer(text):
        try:
            return date.fromisoformat(match.group(1)).isoformat()
        except ValueError:
            continue
    return None


def _is_note(stripped: str) -> bool:
    """`> 注：…` or `<font>注：…</font>`: an editor's note, not content."""
    if stripped[:1] not in ("<", ">"):
        return False
    return bool(_NOTE.match(plain_text(stripped.lstrip("> ")).strip()))


def _quote_text(stripped: str) -> str:
    return plain_text(stripped.lstrip(">").strip()).strip()


def _unbracket(label: str) -> str:
    label = label.strip()
    while label.startswith("[") and label.endswith("]"):
        label = label[1:-1].strip()
    return label


def _excerpt(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[:width] + "…"
