"""GET /metrics (bot/metrics.py, bot/chat/monitor.py): the Prometheus text format, parsed with
prometheus_client's own parser, counting the requests sent; loopback or a token only; and the
broadcast's counters in the same format."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from scale_support import metric
from wechat_messages import WeChat, settings_for

from bot.chat.app import create_app
from bot.chat.monitor import loopback
from bot.metrics import FOLD_AT, Metrics, broadcast_text
from bot.store.store import Store
from bot.wechat.follower import Follower
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]


@pytest.fixture
def archive(corpus_index: Path) -> Archive:
    return Archive.open(corpus_index)


async def test_metrics_count_the_requests_sent_by_kind_and_outcome(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    app = create_app(settings_for(tmp_path, tmp_path / "nt.db"), archive, store)
    wechat = WeChat(await aiohttp_client(app))
    for word in ("量化", "剪枝", "帮助", "最新", "更多", "订阅", "我的订阅"):
        assert (await wechat.say(word)).status == 200
    assert (await wechat.event("unsubscribe")).status == 200
    forged = Follower("not-the-token")
    assert (await wechat.post(forged.push(forged.text("oFollower1", "订阅")))).status == 403

    response = await wechat.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4"
    page = await response.text()
    names = {family.name for family in text_string_to_metric_families(page)}
    assert names and all(name.startswith("neuraltalk_") for name in names)
    assert metric(page, "neuraltalk_requests_total", kind="message", outcome="ok") == 7
    assert metric(page, "neuraltalk_requests_total", kind="event", outcome="ok") == 1
    assert metric(page, "neuraltalk_requests_total", outcome="refused") == 1
    assert metric(page, "neuraltalk_reply_seconds_count") == 9
    assert metric(page, "neuraltalk_store_write_seconds_count", op="subscribe") == 1
    assert metric(page, "neuraltalk_store_write_seconds_count", op="unfollow") == 1
    assert metric(page, "neuraltalk_store_write_failures_total") == 0
    assert metric(page, "neuraltalk_archive_entries") == archive.counts()[1] > 0
    assert metric(page, "neuraltalk_archive_generation") == archive.generation >= 1
    assert metric(page, "neuraltalk_retries_joined_total") == 0
    retry = wechat.follower.push(wechat.follower.text("oFollower1", "订阅", msg_id="77"))
    assert (await wechat.post(retry)).text == (await wechat.post(retry)).text
    page = await (await wechat.client.get("/metrics")).text()
    assert metric(page, "neuraltalk_retries_joined_total") == 1


async def test_with_a_token_metrics_need_it(
    aiohttp_client: Client, store: Store, archive: Archive, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, tmp_path / "nt.db").replace(server={"metrics_token": "s3"})
    client = await aiohttp_client(create_app(settings, archive, store))
    assert (await client.get("/metrics")).status == 403
    assert (await client.get("/metrics", headers={"Authorization": "Bearer no"})).status == 403
    response = await client.get("/metrics", headers={"Authorization": "Bearer s3"})
    assert response.status == 200 and "neuraltalk_requests" in await response.text()


def test_without_a_token_only_loopback_may_read_them() -> None:
    assert loopback("127.0.0.1") and loopback("::1")
    assert not loopback("192.168.1.20") and not loopback(None) and not loopback("garbage")


def test_the_broadcast_counters_parse_as_prometheus_text() -> None:
    text = broadcast_text("2020-04-26", "custom", sent=95, failed=3, in_doubt=2)
    labels = {"issue": "2020-04-26", "channel": "custom"}
    assert metric(text, "neuraltalk_broadcast_sent", **labels) == 95
    assert metric(text, "neuraltalk_broadcast_failed", **labels) == 3
    assert metric(text, "neuraltalk_broadcast_in_doubt", **labels) == 2


async def test_answers_reach_the_metrics_without_a_scrape_within_a_fold() -> None:
    """With workers, /metrics adds up every worker's files: a worker that is not the one asked
    must have added its answers by itself (each FOLD_EVERY seconds, or every FOLD_AT)."""
    metrics = Metrics()
    ok = {"kind": "message", "outcome": "ok"}
    folding = asyncio.create_task(metrics.keep_folding(0.05))
    try:
        for _ in range(3):
            metrics.answered("message", "ok", 0.002)
        assert metrics.registry.get_sample_value("neuraltalk_requests_total", ok) is None
        await asyncio.sleep(0.2)
        assert metrics.registry.get_sample_value("neuraltalk_requests_total", ok) == 3
        count = {"kind": "message"}
        assert metrics.registry.get_sample_value("neuraltalk_reply_seconds_count", count) == 3
    finally:
        folding.cancel()
    for _ in range(FOLD_AT):  # a burst is added without waiting
        metrics.answered("event", "ok", 0.002)
    event = {"kind": "event", "outcome": "ok"}
    assert metrics.registry.get_sample_value("neuraltalk_requests_total", event) == FOLD_AT
