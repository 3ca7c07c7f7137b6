"""The archive commands of `neuraltalk`: parse one issue, ingest issues, search the archive.

Each returns the exit code (0 ok, 1 something failed). Errors meant for a person are raised as
index.errors.ArchiveError subclasses, which cli/group.py prints as one line. Imports stay inside the
functions so that `neuraltalk search` starts fast (no jieba dictionary, no web server).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.group import Context, pass_ctx
from bot.config import Settings

if TYPE_CHECKING:  # imported when a command runs, so that `neuraltalk search` starts fast
    from rich.console import Console

    from index.ingest.run import IngestReport
    from index.search.results import SearchResult

SUMMARY_CHARS = 120


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def parse_command(path: Path, as_json: bool) -> int:
    """`neuraltalk parse FILE [--json]`: the issue as JSON, or a readable summary."""
    from index.parse import parse_file

    issue = parse_file(path)
    for warning in issue.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if as_json:
        print(json.dumps(issue.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{issue.title}  ({issue.date}, {len(issue.entries)} entries)")
    if issue.intro:
        print(f"导读: {_shorten(issue.intro, 200)}")
    for section in issue.sections:
        print(f"\n## {section.name} ({len(section.entries)})")
        for number, entry in enumerate(section.entries, 1):
            tags = "".join(f"[{tag}] " for tag in entry.tags)
            source = f" | {entry.source}" if entry.source else ""
            print(f"{number:3}. {tags}{entry.title}{source}")
            if entry.url:
                print(f"     {entry.url}")
    return 0


def ingest_command(settings: Settings, paths: list[Path]) -> int:
    """`neuraltalk ingest [PATH ...]`: index new and changed issues; a table of what is there."""
    from index.ingest import ingest

    targets = paths or [Path(settings.archive.issues_dir)]
    report = ingest(Path(settings.archive.index_dir), targets)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    _print_ingest_table(report)
    return 0 if report.ok else 1


def _print_ingest_table(report: IngestReport) -> None:
    from rich.table import Table

    issues = report.meta.get("issues", {})
    totals: dict[str, int] = {}  # in the archive's own order: as sections first appear
    for date in sorted(issues):
        for name, count in issues[date]["sections"].items():
            totals[name] = totals.get(name, 0) + count
    this_run: dict[str, int] = {}
    for info in report.ingested:
        for name, count in info["sections"].items():
            this_run[name] = this_run.get(name, 0) + count
    table = Table("section", "entries", "ingested now", title="archive")
    for name, total in totals.items():
        table.add_row(name, str(total), str(this_run.get(name, 0)))
    table.add_row("[bold]all[/bold]", str(sum(totals.values())), str(sum(this_run.values())))
    console = _console()
    console.print(table)
    console.print(  # one line within 80 columns
        f"{len(issues)} issues: {len(report.ingested)} ingested, {len(report.unchanged)} "
        f"unchanged; {_many(len(report.warnings), 'warning')}, "
        f"{_many(len(report.errors), 'error')}; "
        f"{report.seconds:.2f} s"
    )


def search_command(settings: Settings, query: str, as_json: bool, limit: int, offset: int) -> int:
    """`neuraltalk search QUERY [--json] [--limit N] [--offset K]`."""
    from bot.archive import open_archive

    archive = open_archive(settings)
    try:
        result = archive.search(query, limit=limit, offset=offset)
    finally:
        archive.close()
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return 0
    _print_results(result, offset)
    return 0


def _print_results(result: SearchResult, offset: int) -> None:
    console = _console()
    if result.split:
        console.print(f"searched as: {' '.join(result.words)}")
    if not result.matched_all and result.total:
        console.print("no entry matches all the words; these match some of them")
    if result.suggestion:
        console.print(f"did you mean: {result.suggestion}")
    if not result.results:
        if not result.total:
            console.print(f"no results for {result.query!r}")
        else:
            console.print(
                f"no more results: there are {result.total}, and --offset {offset} skips them all"
            )
        return
    from rich.table import Table

    shown = f"{offset + 1}-{offset + len(result.results)}"
    where = f" in {result.section}" if result.section else ""
    table = Table("#", "issue", "section", "title | source", title=f"{result.total} results{where}")
    for number, hit in enumerate(result.results, offset + 1):
        title = f"{hit.title} | {hit.source}" if hit.source else hit.title
        table.add_row(str(number), hit.issue, hit.section, f"{title}\n[dim]{hit.url}[/dim]")
    console.print(table)
    console.print(f"showing {shown} of {result.total}")


def _many(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- the commands ---------------------------------------------------------------------------


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the issue as JSON.")
@pass_ctx
def parse(ctx: Context, file: str, as_json: bool) -> None:
    """Parse one newsletter issue and print its entries."""
    sys.exit(parse_command(Path(file), as_json=as_json))


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@pass_ctx
def ingest(ctx: Context, paths: tuple[str, ...]) -> None:
    """Parse and index issues (files or folders; default: archive.issues_dir)."""
    sys.exit(ingest_command(ctx.settings, [Path(p) for p in paths]))


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many results to show.",
)
@click.option(
    "--offset",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="How many results to skip (for the next page).",
)
@pass_ctx
def search(ctx: Context, query: tuple[str, ...], as_json: bool, limit: int, offset: int) -> None:
    """Search the archive."""
    code = search_command(
        ctx.settings, " ".join(query), as_json=as_json, limit=limit, offset=offset
    )
    sys.exit(code)
