"""Broadcasts against the fake WeChat API over real HTTP, with faults, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from broadcast_support import (
    ISSUE,
    add_subscribers,
    make_settings,
    mock_log,
    received,
)

from bot.broadcast.request import Request
from bot.broadcast.run import run_broadcast
from bot.errors import UserError
from bot.fake_wechat.server import serve_mock
from bot.store.store import Store

OUTSIDE = timedelta(days=5)


async def populate(url: str) -> dict[str, list[str]]:
    store = await Store.open(url)
    try:
        return {
            "inside": await add_subscribers(store, 30, "in"),
            "topic": await add_subscribers(store, 5, "tq", topic="量化"),
            "nomatch": await add_subscribers(store, 3, "tx", topic="区块链"),
            "outside": await add_subscribers(store, 4, "out", last_interaction=OUTSIDE),
        }
    finally:
        await store.close()


async def counts_of(url: str) -> dict[str, int]:
    store = await Store.open(url)
    try:
        listed = await store.list_campaigns()
        return listed[0][1].by_status
    finally:
        await store.close()


async def test_auto_broadcast_reaches_each_once_with_their_text(
    sample_index: Path, store_url: str
) -> None:
    people = await populate(store_url)
    async with serve_mock() as mock:
        settings = make_settings(sample_index, store_url, mock.url, account_type="service")
        assert await run_broadcast(settings, Request.of(settings, ISSUE, yes=True)) == 0
        log = await mock_log(mock.url)
        with pytest.raises(UserError, match="never sent again"):
            await run_broadcast(settings, Request.of(settings, ISSUE, yes=True))
        assert len(await mock_log(mock.url)) == len(log)
    got = received(log)
    reachable = people["inside"] + people["topic"] + people["outside"]
    assert got == {o: 1 for o in reachable}
    by_openid = {r["openid"]: r for r in log}
    full = by_openid[people["inside"][0]]
    assert full["channel"] == "custom" and full["content"].startswith("嵌入式AI简报")
    assert "https://example.org/report/2020-04-26.md" in full["content"]
    assert len(full["content"].encode()) <= 2048
    digest = by_openid[people["topic"][0]]["content"]
    assert "你订阅的主题：量化" in digest and len(digest) < len(full["content"])
    assert {by_openid[o]["channel"] for o in people["outside"]} == {"mass"}
    counts = await counts_of(store_url)
    assert counts == {"sent": 39, "skipped": 3}


async def test_faults_never_make_a_duplicate_and_recipient_errors_are_recorded(
    sample_index: Path, store_url: str
) -> None:
    people = await populate(store_url)
    inside = people["inside"]
    faults = {
        "latency": 0.005,
        "busy_probability": 0.1,
        "slow_probability": 0.1,
        "slow_seconds": 0.3,
        "drop_probability": 0.05,
        "expire_token_after": 15,
        "recipient_errors": {inside[1]: 45015, inside[2]: 43004, inside[3]: 40003},
    }
    async with serve_mock(faults) as mock:
        settings = make_settings(sample_index, store_url, mock.url, account_type="service")
        code = await run_broadcast(settings, Request.of(settings, ISSUE, yes=True))
        log = await mock_log(mock.url)
        assert mock.token_calls >= 2  # the token expired midway and was renewed
    got = received(log)
    assert max(got.values()) == 1
    unreachable = {inside[1], inside[2], inside[3]}  # the fake drops 45015 ones from mass too
    expected = set(inside + people["topic"] + people["outside"]) - unreachable
    store = await Store.open(store_url)
    try:
        campaign = (await store.list_campaigns())[0][0]
        doubt = {one.openid for one in await store.in_doubt(campaign.id)}
        assert code == (3 if doubt else 0)  # a dropped custom send is in doubt, never re-sent
        assert set(got) <= expected and expected - set(got) <= doubt
        gone = await store.subscriber(inside[2])
        assert gone is not None
        assert gone.status == "unsubscribed" or inside[2] in doubt  # (dropped before its 43004)
        listed = await store.list_campaigns()
        counts = listed[0][1]
        answered = {43004: inside[2], 40003: inside[3]}
        assert counts.failed_by_errcode == {k: 1 for k, o in answered.items() if o not in doubt}
        failed_in_doubt = len(doubt & {inside[2], inside[3]})
        assert counts.by_status["sent"] + len(doubt) - failed_in_doubt == 37  # 45015: to mass
    finally:
        await store.close()


async def test_fatal_error_stops_with_unsent_left_pending_then_resumes(
    sample_index: Path, store_url: str
) -> None:
    people = await populate(store_url)
    async with serve_mock({"fail_all": 48001}) as mock:
        settings = make_settings(sample_index, store_url, mock.url, account_type="service")
        assert await run_broadcast(settings, Request.of(settings, ISSUE, yes=True)) == 1
        assert await mock_log(mock.url) == []
        counts = await counts_of(store_url)
        assert counts == {"pending": 39, "skipped": 3}
        mock.set_faults(type(mock.faults)())
        assert await run_broadcast(settings, Request.of(settings, ISSUE, yes=True)) == 0
        got = received(await mock_log(mock.url))
    assert got == {o: 1 for o in people["inside"] + people["topic"] + people["outside"]}


async def test_two_broadcasters_on_one_campaign_never_overlap(
    sample_index: Path, store_url: str
) -> None:
    people = await populate(store_url)
    async with serve_mock({"latency": 0.02}) as mock:
        settings = make_settings(sample_index, store_url, mock.url, account_type="service")
        first, second = await asyncio.gather(
            run_broadcast(settings, Request.of(settings, ISSUE, yes=True)),
            run_broadcast(settings, Request.of(settings, ISSUE, yes=True)),
            return_exceptions=True,
        )
        got = received(await mock_log(mock.url))
    outcomes = sorted([first, second], key=lambda x: isinstance(x, Exception))
    assert outcomes[0] == 0
    refused = outcomes[1]
    assert refused == 0 or isinstance(refused, UserError), refused
    assert got == {o: 1 for o in people["inside"] + people["topic"] + people["outside"]}


async def test_subscription_account_mass_sends_to_the_tag_kept_in_step(
    sample_index: Path, store_url: str
) -> None:
    people = await populate(store_url)
    async with serve_mock() as mock:
        mock.tags[7] = ("neuraltalk-subscribers", {"stranger": None})
        settings = make_settings(sample_index, store_url, mock.url, account_type="subscription")
        assert (
            await run_broadcast(settings, Request.of(settings, ISSUE, channel="mass", yes=True))
            == 0
        )
        log = await mock_log(mock.url)
    got = received(log)
    assert got == {o: 1 for o in people["inside"] + people["outside"]}
    assert {r["channel"] for r in log} == {"sendall"}
    counts = await counts_of(store_url)
    assert counts == {"sent": 34, "skipped": 8}  # digests: one mass send a day is the issue's
