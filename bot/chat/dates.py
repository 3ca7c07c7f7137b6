"""Dates and months as followers write them: 2020-04-26, 2020.5.10, 2020年5月10日, 20200510,
2020-04, 2020年5月, 202005, 5月 (the latest May that has issues).

`when(text)` says what a message names: a Day, a Month (year None: the latest such month with
issues), a NotADate (2020-13-01: written as a date, but impossible), or None (not a date at
all: search it). The compact forms (20200510, 202005) are dates only when they are possible
ones; otherwise they are searched as numbers.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_SEP = r"[-./年]"
_DAY = re.compile(rf"^(\d{{4}}){_SEP}(\d{{1,2}})[-./月](\d{{1,2}})[日号]?$")
_MONTH = re.compile(rf"^(\d{{4}}){_SEP}(\d{{1,2}})月?$")
_COMPACT_DAY = re.compile(r"^((?:19|20)\d\d)(\d\d)(\d\d)$")
_COMPACT_MONTH = re.compile(r"^((?:19|20)\d\d)(\d\d)$")
_BARE_MONTH = re.compile(r"^(\d{1,2})月(?:份)?$")


@dataclass(frozen=True)
class Day:
    date: str  # 2020-05-10


@dataclass(frozen=True)
class Month:
    year: int | None  # None: the latest year with issues that month
    month: int

    def prefix(self, year: int) -> str:
        return f"{year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class NotADate:
    text: str


def _day(year: str, month: str, day: str) -> Day | None:
    try:
        return Day(datetime.date(int(year), int(month), int(day)).isoformat())
    except ValueError:
        return None


def when(text: str) -> Day | Month | NotADate | None:
    """What `text` names, if it is written as a date or a month."""
    if not text[:1].isdigit():  # every form starts with a digit; most messages do not
        return None
    if m := _DAY.match(text):
        return _day(*m.groups()) or NotADate(text)
    if m := _MONTH.match(text):
        return Month(int(m[1]), int(m[2])) if 1 <= int(m[2]) <= 12 else NotADate(text)
    if m := _COMPACT_DAY.match(text):
        return _day(*m.groups())
    if (m := _COMPACT_MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        return Month(int(m[1]), int(m[2]))
    if m := _BARE_MONTH.match(text):
        return Month(None, int(m[1])) if 1 <= int(m[1]) <= 12 else NotADate(text)
    return None
