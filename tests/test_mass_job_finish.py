"""A MASSSENDJOBFINISH event posted to the webhook updates the mass-send campaign's totals, as
`neuraltalk campaigns --json` shows them; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient
from broadcast_support import ISSUE, add_subscribers, make_settings
from wechat_messages import APPID, TOKEN, WeChat

from bot.broadcast.request import Request
from bot.broadcast.run import run_broadcast, run_campaigns
from bot.chat.app import create_app
from bot.fake_wechat.server import serve_mock
from bot.store.store import Store
from index.search import Archive

Client = Callable[[web.Application], Awaitable[TestClient]]


async def test_the_event_updates_the_mass_campaign_totals(
    sample_index: Path, store_url: str, aiohttp_client: Client
) -> None:
    async with serve_mock() as mock:
        settings = make_settings(sample_index, store_url, mock.url, account_type="service")
        store = await Store.open(store_url)
        try:
            await add_subscribers(store, 5, "out", last_interaction=timedelta(days=5))
        finally:
            await store.close()
        assert (
            await run_broadcast(settings, Request.of(settings, ISSUE, channel="mass", yes=True))
            == 0
        )
    [before] = await run_campaigns(settings)
    [msg_id] = before["mass"]["msg_ids"]
    assert before["mass"]["total"] is None  # WeChat has not reported yet

    hook_settings = settings.replace(wechat={"token": TOKEN, "appid": APPID})
    store = await Store.open(store_url)
    archive = Archive.open(sample_index)
    try:
        wechat = WeChat(await aiohttp_client(create_app(hook_settings, archive, store)))
        finish = {"Status": "send success", "TotalCount": "5", "FilterCount": "5"}
        finish |= {"SentCount": "4", "ErrorCount": "1"}
        answer = await wechat.event("MASSSENDJOBFINISH", "gh_account", MsgID=msg_id, **finish)
        assert (answer.status, answer.body) == (200, "success")
        unknown = await wechat.event("MASSSENDJOBFINISH", "gh_account", MsgID="999", **finish)
        assert unknown.status == 200  # not one of ours: answered, nothing changed
    finally:
        archive.close()
        await store.close()

    [after] = await run_campaigns(settings)
    assert after["mass"] | {"msg_ids": []} == {
        "batches": 1,
        "recipients": 5,
        "msg_ids": [],
        "status": "send success",
        "total": 5,
        "filter_count": 5,
        "sent": 4,
        "errors": 1,
    }
    assert after["counts"]["sent"] == 5 and after["status"] == "finished"
