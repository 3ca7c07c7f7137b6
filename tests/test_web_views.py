"""Views: only http(s) links kept, the issues nearest a date, search hits placed in their issue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.web.sources import Sources
from bot.web.views import Views, nearest, safe_url
from index.ingest import ingest
from index.search import Archive


@pytest.mark.parametrize(
    ("url", "kept"),
    [("https://a.org/x?y=1", True), ("http://a.org", True), ("HTTPS://A.ORG", True),
     ("javascript:alert(1)", False), ("JavaScript:alert(1)", False), ("data:text/html,x", False),
     ("//a.org/x", False), ("/issues/x", False), ("https://a.org/\nx", False), ("", False),
     ("https://[::1", False), ("mailto:a@b.org", False)],
)  # fmt: skip
def test_safe_url(url: str, kept: bool) -> None:
    assert bool(safe_url(url)) is kept


def test_nearest_issues_around_a_date(corpus_index: Path) -> None:
    archive = Archive.open(corpus_index)
    assert nearest(archive, "2020-04-27") == [
        "2020-06-03",
        "2020-05-15",
        "2020-04-26",
        "2020-04-04",
    ]
    assert nearest(archive, "2000-01-01") == ["2019-04-27", "2019-03-31"]
    assert nearest(archive, "2099-01-01") == ["2021-08-01", "2021-07-01"]


def test_an_issue_whose_file_changed_shows_the_index_entries(
    corpus_dir: Path, tmp_path: Path
) -> None:
    issues = tmp_path / "issues"
    issues.mkdir()
    original = (corpus_dir / "2019-03-31.md").read_text(encoding="utf-8")
    (issues / "2019-03-31.md").write_text(original, encoding="utf-8")
    ingest(tmp_path / "index", [issues])
    archive = Archive.open(tmp_path / "index")
    fresh = Views(Sources(issues)).issue(archive, "2019-03-31")
    assert fresh is not None and any(e.links for _, g in fresh.sections for e in g)
    (issues / "2019-03-31.md").write_text(original + "\n- extra\n", encoding="utf-8")
    stale = Views(Sources(issues)).issue(archive, "2019-03-31")
    assert stale is not None  # not the file that was indexed: no links from it
    assert not any(e.links for _, g in stale.sections for e in g)
    assert [e.title for _, g in stale.sections for e in g] == [
        e.title for _, g in fresh.sections for e in g
    ]


def test_search_hits_are_placed_at_their_entry(corpus_index: Path, corpus_dir: Path) -> None:
    archive = Archive.open(corpus_index)
    views = Views(Sources(corpus_dir))
    hits = archive.search("量化", limit=20).results
    placed = views.placed(archive, hits)
    for hit, entry in zip(hits, placed, strict=True):
        issue = views.issue(archive, hit.issue)
        assert issue is not None
        number = int(entry.anchor.removeprefix("e"))
        assert [e for _, g in issue.sections for e in g][number - 1].title == hit.title
