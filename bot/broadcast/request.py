"""What one `neuraltalk broadcast` run is asked to do, and what its two lanes share.

Request is the command's flags with the configuration's defaults filled in: built once by the
CLI (Request.of) and handed down, unchanged, to the run, the broadcaster and its lanes. Job is
one run's working set (the request, the store, the API client, the campaign, the lease owner,
the texts and the tally), built once by the broadcaster and handed to each lane.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.config import Settings
from bot.errors import UserError
from bot.store.campaigns import Campaign
from bot.store.store import Store
from bot.wechat.api import WeChatAPI


@dataclass(frozen=True)
class Request:
    issue: str
    channel: str = "auto"
    dry_run: bool = False
    preview: str | None = None
    yes: bool = False
    rate: float = 0.0  # messages per second, 0: no limit
    concurrency: int = 20  # sends in flight at once
    retry_in_doubt: bool = False
    forget_in_doubt: bool = False
    account_type: str = "subscription"  # wechat.account_type

    def __post_init__(self) -> None:
        if self.retry_in_doubt and self.forget_in_doubt:
            raise UserError("--retry-in-doubt and --forget-in-doubt exclude each other: choose one")

    @classmethod
    def of(
        cls,
        settings: Settings,
        issue: str,
        *,
        rate: float | None = None,
        concurrency: int | None = None,
        channel: str = "auto",
        dry_run: bool = False,
        preview: str | None = None,
        yes: bool = False,
        retry_in_doubt: bool = False,
        forget_in_doubt: bool = False,
    ) -> Request:
        """The flags as given; rate and concurrency left out (None) come from broadcast.*."""
        return cls(
            issue,
            channel=channel,
            dry_run=dry_run,
            preview=preview,
            yes=yes,
            rate=settings.broadcast.rate if rate is None else rate,
            concurrency=concurrency or settings.broadcast.concurrency,
            retry_in_doubt=retry_in_doubt,
            forget_in_doubt=forget_in_doubt,
            account_type=settings.wechat.account_type,
        )


@dataclass
class Tally:
    """What one run did, for the progress display and the end report."""

    sent: int = 0
    failed: Counter[int] = field(default_factory=Counter)
    rerouted: int = 0
    in_doubt: int = 0
    unsubscribed: int = 0
    mass_sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class Job:
    """One run's working set, shared by the custom and the mass lane."""

    request: Request
    store: Store
    api: WeChatAPI
    campaign: Campaign
    owner: str  # who holds the campaign's lease (lease_owner_name())
    texts: dict[str, str]  # digest key -> the text to send
    tally: Tally = field(default_factory=Tally)
