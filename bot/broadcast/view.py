"""What `neuraltalk broadcast` and `neuraltalk campaigns` print: plans, progress, reports, tables.

Progress goes to stderr: a rich bar with rate and ETA on a terminal, else one line every
PROGRESS_EVERY seconds. Plans and reports go to stdout; a report ends with its counters in the
Prometheus text format (bot.metrics.broadcast_text), for a node_exporter textfile.
"""

from __future__ import annotations

import contextlib
import sys
import time
from types import TracebackType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table

from bot.broadcast.broadcaster import Report
from bot.broadcast.plan import FULL, PlanCounts
from bot.metrics import broadcast_text
from bot.store.campaigns import Campaign, CampaignCounts

PROGRESS_EVERY = 3.0
SKIP_REASONS = {
    "no-match": "topic-only subscribers whose topics match nothing in this issue",
    "outside-window": "outside the 48-hour window (custom channel only)",
    "digest-needs-service-account": "topic digests outside the window: a subscription account "
    "has one mass send a day, for the whole issue",
    "mass-needs-2": "alone with their digest: a mass send needs 2 to 10,000 openids",
}


def _kind(key: str) -> str:
    return "the whole issue" if key == FULL else "digest " + key.removeprefix("digest:")


def plan(issue: str, channel: str, counts: PlanCounts) -> None:
    click.echo(f"broadcast of {issue}, channel {channel}:")
    for (lane, key), n in sorted(counts.by_channel.items()):
        click.echo(f"  {lane:<7} {n:>8}  {_kind(key)}")
    for reason, n in sorted(counts.skipped.items()):
        click.echo(f"  skipped {n:>8}  {SKIP_REASONS.get(reason, reason)}")
    click.echo(f"  total   {counts.recipients:>8}  recipients")


def dry_run(issue: str, channel: str, account: str, counts: PlanCounts) -> None:
    plan(issue, channel, counts)
    click.echo(f"({account} account; dry run: nothing sent, nothing recorded)")
    for key, text in counts.texts.items():
        size = len(text.encode("utf-8"))
        click.echo(f"\n--- text for {_kind(key)} ({size} bytes) ---\n{text}")


def resume(campaign: Campaign, counts: CampaignCounts, retry_in_doubt: bool) -> None:
    n = counts.by_status
    click.echo(
        f"resuming campaign #{campaign.id} for {campaign.issue} ({campaign.channel}): "
        f"{n.get('sent', 0)} sent, {n.get('pending', 0)} pending, {n.get('failed', 0)} failed, "
        f"{n.get('skipped', 0)} skipped"
    )
    if counts.in_doubt:
        what = (
            "will be re-sent"
            if retry_in_doubt
            else "not re-sent (--retry-in-doubt re-sends, --forget-in-doubt counts as delivered)"
        )
        click.echo(
            f"{counts.in_doubt} in doubt (their request went out, no answer came back: "
            f"WeChat may have delivered them): {what}"
        )


class Progress:
    """A context manager; update(report) after each batch of results."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.bar: RichProgress | None = None
        self.task: Any = None
        self.started = self.last = time.monotonic()

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            self.bar = RichProgress(
                TextColumn("sending"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]:.0f}/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self.bar.__enter__()
            self.task = self.bar.add_task("sending", total=self.total, rate=0.0)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, exc, tb)

    def update(self, report: Report) -> None:
        t = report.tally
        done = t.sent + sum(t.failed.values()) + t.rerouted + t.in_doubt + t.mass_sent
        now = time.monotonic()
        rate = done / max(now - self.started, 1e-6)
        if self.bar is not None:
            self.bar.update(self.task, completed=done, rate=rate)
        elif now - self.last >= PROGRESS_EVERY:
            self.last = now
            left = max(self.total - done, 0)
            eta = f", ETA {left / rate:.0f} s" if rate > 0 else ""
            with contextlib.suppress(OSError):  # nobody reading: sending goes on regardless
                click.echo(f"progress: {done}/{self.total} ({rate:.0f}/s{eta})", err=True)


def report(r: Report) -> None:
    t, c = r.tally, r.counts
    n = c.by_status if c is not None else {}
    click.echo(f"campaign #{r.campaign.id} for {r.campaign.issue} ({r.campaign.channel}):")
    click.echo(f"  sent          {t.sent} by customer-service message, {t.mass_sent} by mass send")
    failed = ", ".join(f"{code}: {k}" for code, k in sorted(t.failed.items())) or "none"
    click.echo(f"  failed        {sum(t.failed.values())} (by error code: {failed})")
    if t.rerouted:
        click.echo(f"  moved to mass {t.rerouted} (45015: their 48-hour window had closed)")
    if t.unsubscribed:
        click.echo(f"  unsubscribed  {t.unsubscribed} (43004: they no longer follow the account)")
    if c is not None:
        skipped = n.get("skipped", 0)
        click.echo(f"  skipped       {skipped} (planned: no text for them on this channel)")
        doubt = f"  in doubt      {c.in_doubt}"
        if c.in_doubt:
            doubt += (
                " (the request went out, no answer came: maybe delivered; "
                "--retry-in-doubt re-sends, --forget-in-doubt counts them as delivered)"
            )
        click.echo(doubt)
        click.echo(
            f"  campaign      {n.get('sent', 0)} sent, {n.get('pending', 0)} pending, "
            f"{n.get('failed', 0)} failed in all"
        )
    if r.requeued:
        click.echo(f"  re-sent       {r.requeued} that were in doubt")
    if r.forgotten:
        click.echo(f"  forgotten     {r.forgotten} in doubt, counted as delivered")
    click.echo(f"  time taken    {r.seconds:.1f} s")
    if r.interrupted:
        click.echo(
            f"interrupted ({r.interrupted}): campaign paused; run the same command to resume",
            err=True,
        )
    elif r.stopped:
        click.echo(f"stopped: {r.stopped}", err=True)
    elif c is not None and not n.get("pending") and not n.get("sending"):
        click.echo("campaign finished")
    elif c is not None and not n.get("pending") and c.in_doubt:
        click.echo(
            f"nothing left to send; {c.in_doubt} in doubt: --retry-in-doubt re-sends them, "
            "--forget-in-doubt counts them as delivered and finishes the campaign"
        )
    metrics(r)


def metrics(r: Report) -> None:
    """The run's counters in the Prometheus text format (lines starting # or neuraltalk_)."""
    t, doubt = r.tally, (r.counts.in_doubt if r.counts is not None else 0)
    sent, failed = t.sent + t.mass_sent, sum(t.failed.values())
    click.echo("# metrics of this run: neuraltalk broadcast ... | grep -E '^(#|neuraltalk_)'")
    click.echo(broadcast_text(r.campaign.issue, r.campaign.channel, sent, failed, doubt), nl=False)


WORDS = ("id", "issue", "channel", "status")


def campaigns_table(rows: list[dict[str, Any]]) -> None:
    """One line per campaign, fitting 80 columns; `campaigns --json` has every detail."""
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
    for name in ("id", "issue", "channel", "status", "sent", "pending", "doubt", "failed"):
        table.add_column(name, no_wrap=True, justify="left" if name in WORDS else "right")
    table.add_column("skipped", no_wrap=True, justify="right")
    table.add_column("started UTC", no_wrap=True)
    notes = []
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["issue"],
            row["channel"],
            row["status"],
            str(row["sent"]),
            str(row["pending"]),
            str(row["in_doubt"]),
            str(row["failed"]),
            str(row["skipped"]),
            (row["created_at"] or "")[5:16].replace("T", " "),
        )
        if row["in_doubt_resent"] or row["in_doubt_forgotten"]:
            notes.append(
                f"#{row['id']}: in doubt resolved: {row['in_doubt_resent']} re-sent "
                f"(--retry-in-doubt), {row['in_doubt_forgotten']} counted as delivered "
                "(--forget-in-doubt)"
            )
        if row["stop_reason"] and row["status"] != "finished":
            notes.append(f"#{row['id']} {row['status']}: {row['stop_reason']}")
    console = Console(width=min(Console().width, 80))
    console.print(table)
    for note in notes:
        console.print(note, soft_wrap=False, overflow="fold")
