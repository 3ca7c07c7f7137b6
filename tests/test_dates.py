"""Dates and months as followers write them (bot.chat.dates)."""

from __future__ import annotations

import pytest

from bot.chat.dates import Day, Month, NotADate, when


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("2020-04-26", Day("2020-04-26")),
        ("2020.5.10", Day("2020-05-10")),
        ("2020/5/10", Day("2020-05-10")),
        ("2020年5月10日", Day("2020-05-10")),
        ("20200510", Day("2020-05-10")),
        ("2020-04", Month(2020, 4)),
        ("2020年5月", Month(2020, 5)),
        ("202005", Month(2020, 5)),
        ("5月", Month(None, 5)),
        ("12月份", Month(None, 12)),
        ("2020-13-01", NotADate("2020-13-01")),
        ("2021-02-29", NotADate("2021-02-29")),
        ("2020-00", NotADate("2020-00")),
        ("0月", NotADate("0月")),
        ("20201301", None),  # not a possible date: a number to search
        ("202013", None),
        ("12345678", None),
        ("5G", None),
        ("麒麟985", None),
    ],
)
def test_what_a_message_names(text: str, named: object) -> None:
    assert when(text) == named
