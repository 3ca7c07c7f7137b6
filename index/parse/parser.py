"""A newsletter issue in markdown -> an Issue (issue.py); no I/O (files.py reads the file).

The rules, learnt from the 30 real issues in issues/ (2019-03 to 2021-08), are in the
archive issue (#2); the choices it leaves open:
- date: YYYY-MM-DD in the file name, else in the `# ` title (a warning when both differ).
  title: the `# ` heading as plain text, a trailing "：" or ":" dropped.
- intro: the `> 导读：` blockquote without its label, plus the editor's prose paragraphs that
  follow it before the warm-up bullets (2020-03-19, 2020-05-15); "" without a 导读.
- The front matter, the **tagline**, notes (`> 注：…`, `<font>注：…</font>`), lead-ins ending
  in a colon, images, 往期回顾 and everything from the first rule (`---`) after the last content
  section on (the footer) are not content, and not warnings.
- `|` and the full-width `｜` both separate a title from its source. Summaries drop images,
  HTML, emphasis and the markers of nested bullets (numbered items keep their numbers).
- Warm-up bullets: url is the first link's target; a trailing "；" is dropped.
Whatever cannot be placed becomes a ParseWarning with file and line (at most MAX_WARNINGS per
file, then one that counts the rest): never silently dropped, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from index.errors import IssueError
from index.parse.issue import Entry, Issue, Link, ParseWarning, Section
from index.parse.markdown_text import (
    ARCHIVE_HEADING,
    BULLET,
    EMPTY_BULLET,
    RULE,
    SUMMARY_LABEL,
    InlineLink,
    excerpt,
    footer_start,
    front_matter_end,
    heading_level,
    heading_parts,
    intro_text,
    is_decoration,
    is_note,
    is_section_heading,
    plain_text,
    quote_text,
    read_bullet,
    read_warmup,
    summary_line,
    too_much_markup,
)

WARMUP_SECTION = "热身新闻"
MAX_FILE_BYTES = 2 * 1024 * 1024  # larger files are rejected before they are read
WARMUP_TITLE_MAX = 20  # a warm-up bullet's text before its first colon is its title up to this
MAX_WARNINGS = 100  # per file; the rest are counted in one last warning

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")
_NO_ENTRIES = "not an issue: no newsletter entries ('## ' sections of '- ' bullets)"
_CLOSING_PUNCTUATION = "。，；！？.,;!?）)」》"


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
        lines = [SUMMARY_LABEL.sub("", self.head).strip()]
        lines += (summary_line(raw) for raw in self.body)
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
        self.more_warnings: list[int] = []  # lines of the warnings past MAX_WARNINGS
        self.sections: list[tuple[str, list[Entry]]] = []
        self.current: list[Entry] | None = None  # entries of the open section; None: skipping
        self.draft: _Draft | None = None
        self.h1: str | None = None
        self.h1_line = 1
        self.intro: list[str] = []

    def warn(self, line: int, message: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(ParseWarning(self.name, line, message))
        else:
            self.more_warnings.append(line)

    def parse(self) -> Issue:
        start = front_matter_end(self.lines)
        end = footer_start(self.lines, start)
        first = next((i for i in range(start, end) if heading_level(self.lines[i]) == 2), end)
        # Cheap checks first, so that a file that is no issue is turned away before markdown-it.
        h1 = next((i for i in range(start, first) if heading_level(self.lines[i]) == 1), None)
        if h1 is not None:
            self.h1, self.h1_line = heading_parts(self.lines[h1])[1], h1 + 1
        issue_date = self._date()
        lines = self.lines[start:end]
        if not any(map(BULLET.match, lines)) or not any(map(is_section_heading, lines)):
            raise IssueError(f"{self.name}: {_NO_ENTRIES}")
        self._preamble(start, first)
        self._sections(first, end)
        sections = tuple(Section(name, tuple(entries)) for name, entries in self.sections)
        if not any(section.entries for section in sections):
            raise IssueError(f"{self.name}: {_NO_ENTRIES}")
        if self.more_warnings:
            count, line = len(self.more_warnings), self.more_warnings[0]
            self.warnings.append(
                ParseWarning(self.name, line, f"{count} more warnings from here on")
            )
        title = (self.h1 or "").strip().rstrip("：:").strip()
        intro = "\n".join(self.intro).strip()
        return Issue(issue_date, title, intro, sections, self.name, tuple(self.warnings))

    def _date(self) -> str:
        from_name = _valid_date(Path(self.name).stem)
        from_title = _valid_date(self.h1 or "")
        if from_name and from_title and from_name != from_title:
            self.warn(
                self.h1_line,
                f"the title's date {from_title} differs from the file name's; using {from_name}",
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
            self._check_markup(line, i + 1)
            if not stripped or RULE.match(line):
                in_intro = False
            elif in_intro and not (BULLET.match(line) or heading_level(line) or is_note(stripped)):
                self._add_intro(quote_text(stripped))  # the paragraph goes on
            elif bullet := BULLET.match(line):
                in_intro = False
                if warmup is None:
                    warmup = []
                    self.sections.append((WARMUP_SECTION, warmup))
                warmup.append(_warmup_entry(bullet.group(1), i + 1))
            else:
                in_intro = self._preamble_line(stripped, i + 1, after_warmup=warmup is not None)

    def _preamble_line(self, stripped: str, line: int, after_warmup: bool) -> bool:
        """One non-bullet line of the preamble; True when it starts an intro paragraph."""
        level, heading = heading_parts(stripped) if stripped[0] == "#" else (0, "")
        if level == 1 and line == self.h1_line:
            pass  # the title, read before
        elif level:
            self.warn(line, f"heading before the first section ignored: {excerpt(heading)}")
        elif is_decoration(stripped):
            pass  # "> 注：…", the **tagline**, an image or bare HTML
        elif (text := intro_text(stripped)) is not None:
            self._add_intro(text, new=True)
            return True
        elif stripped.endswith(("：", ":")):
            pass  # a lead-in such as "好了，先是一些热身小新闻："
        elif self.intro and not after_warmup and not stripped.startswith(">"):
            self._add_intro(plain_text(stripped).strip())  # the editor's intro goes on
            return True
        elif after_warmup:
            self.warn(line, f"a line among the warm-up news is no bullet: {excerpt(stripped)}")
        else:
            self.warn(line, f"text before the first section is not an entry: {excerpt(stripped)}")
        return False

    def _add_intro(self, text: str, new: bool = False) -> None:
        if not new and self.intro and text and not text.strip(_CLOSING_PUNCTUATION):
            self.intro[-1] += text  # a line of only "。" closes the line above
        else:
            self.intro.append(text)

    def _sections(self, start: int, end: int) -> None:
        for i in range(start, end):
            line = self.lines[i]
            if line.lstrip().startswith("#") and heading_level(line):
                self._heading(line, i + 1)
            elif self.current is not None:
                self._check_markup(line, i + 1)
                self._section_line(line, i + 1)
        self._close()

    def _check_markup(self, line: str, lineno: int) -> None:
        if too_much_markup(line):
            self.warn(lineno, "line too long or too full of markup for markdown: kept as raw text")

    def _heading(self, line: str, lineno: int) -> None:
        self._close()
        level, name = heading_parts(line)
        if level != 2:
            self.warn(lineno, f"not a '## ' section heading, ignored: {excerpt(name)}")
        elif ARCHIVE_HEADING in name:
            self.current = None  # 往期回顾: links to older issues, not content
        else:
            if not name:
                self.warn(lineno, "section heading without a name")
            self.current = []
            self.sections.append((name, self.current))

    def _section_line(self, line: str, lineno: int) -> None:
        stripped = line.strip()
        if not stripped or RULE.match(line) or is_note(stripped):
            return
        if bullet := BULLET.match(line):
            self._close()
            self.draft = self._start_entry(bullet.group(1), lineno)
        elif EMPTY_BULLET.match(line):
            self.warn(lineno, "empty bullet ignored")
        elif self.draft is not None:
            self.draft.body.append(stripped)
        elif plain_text(stripped).strip():
            self.warn(lineno, f"text outside any entry: {excerpt(stripped)}")

    def _start_entry(self, text: str, lineno: int) -> _Draft:
        bullet = read_bullet(text)
        if not bullet.linked and "](" in text:
            self.warn(lineno, "a link in this bullet could not be read; its text is the title")
        if not bullet.title:
            self.warn(lineno, "entry without a title")
        links = _links(bullet.links)
        return _Draft(
            lineno, bullet.title, bullet.source, bullet.url, bullet.tags, links, bullet.rest
        )

    def _close(self) -> None:
        if self.draft is not None and self.current is not None:
            self.current.append(self.draft.entry())
        self.draft = None


def _warmup_entry(text: str, line: int) -> Entry:
    bullet = read_warmup(text, WARMUP_TITLE_MAX)
    return Entry(bullet.title, "", bullet.url, (), _links(bullet.links), bullet.rest, line)


def _links(links: tuple[InlineLink, ...]) -> tuple[Link, ...]:
    return tuple(Link(link.text, link.url) for link in links)


def _valid_date(text: str) -> str | None:
    for match in _DATE.finditer(text):
        try:
            return date.fromisoformat(match.group(1)).isoformat()
        except ValueError:
            continue
    return None
