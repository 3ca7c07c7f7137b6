"""The access_token (bot/wechat/access_token.py) as the API client uses it against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from wechat_api_support import CUSTOM, FAST, SECRET, make_api, set_faults

from bot.store.store import Store
from bot.wechat.access_token import MemoryTokenStore
from bot.wechat.api import FatalError, WeChatAPI


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


# --- the access_token -----------------------------------------------------------------------


async def test_one_token_fetch_for_100_concurrent_senders(mock, session):
    api = make_api(session, mock.url)
    await asyncio.gather(*(api.send_text(f"o{i}", "hello") for i in range(100)))
    assert mock.token_calls == 1
    assert mock.calls[CUSTOM] == 100
    assert sorted(mock.per_openid.values()) == [1] * 100


async def test_token_from_the_store_is_reused_and_renewed_before_it_runs_out(mock, session):
    store = MemoryTokenStore()
    await make_api(session, mock.url, store).send_text("o1", "a")
    await make_api(session, mock.url, store).send_text("o2", "b")  # another process, same store
    assert mock.token_calls == 1
    assert store.value is not None
    naive = datetime.now(UTC).replace(tzinfo=None)  # as SQLite gives it back
    store.value = (store.value[0], naive + timedelta(minutes=2))
    await make_api(session, mock.url, store).send_text("o3", "c")
    assert mock.token_calls == 2
    assert store.value[1] > datetime.now(UTC) + timedelta(hours=1)


async def test_short_lived_token_is_not_fetched_for_every_message(mock, session):
    set_faults(mock, token_expires_in=200)  # under the 5-minute margin from the start
    api = make_api(session, mock.url)
    for i in range(10):
        await api.send_text(f"o{i}", "hi")
    assert mock.token_calls == 1


async def test_expired_token_midway_is_renewed_once_and_the_call_retried_once(mock, session):
    set_faults(mock, expire_token_after=3)
    api = make_api(session, mock.url)
    for i in range(5):
        await api.send_text(f"o{i}", "hi")
    # calls 1, 2 pass; call 3 gets 42001, one renewal, one retry (call 4); then 5, 6.
    assert mock.calls[CUSTOM] == 6
    assert mock.token_calls == 2
    assert [r.openid for r in mock.log] == ["o0", "o1", "o2", "o3", "o4"]


async def test_expired_token_with_100_waiting_senders_means_one_renewal(mock, session):
    set_faults(mock, expire_token_after=30)
    api = make_api(session, mock.url)
    await asyncio.gather(*(api.send_text(f"o{i}", "hi") for i in range(100)))
    assert mock.token_calls == 2
    assert mock.calls[CUSTOM] <= 200
    assert sorted(mock.per_openid.values()) == [1] * 100


async def test_invalid_token_40001_is_renewed_with_force_refresh(mock, session):
    api = make_api(session, mock.url)
    await api.send_text("o1", "a")
    mock.tokens.clear()  # WeChat forgot the token: 40001
    await api.send_text("o2", "b")
    assert mock.calls[CUSTOM] == 3
    token_bodies = [body for path, body in mock.requests if path.endswith("stable_token")]
    assert b'"force_refresh":false' in token_bodies[0]
    assert b'"force_refresh":true' in token_bodies[1]


async def test_token_refused_right_after_renewal_is_fatal(mock, session):
    set_faults(mock, token_expires_in=0)
    with pytest.raises(FatalError, match="another program") as caught:
        await make_api(session, mock.url).send_text("o1", "a")
    assert caught.value.errcode == 42001
    assert mock.log == []


async def test_falls_back_to_cgi_bin_token_without_stable_token(mock, session):
    set_faults(mock, no_stable_token=True)
    api = make_api(session, mock.url)
    await api.send_text("o1", "a")
    await api.send_text("o2", "b")
    assert mock.calls["/cgi-bin/stable_token"] == 1
    assert mock.calls["/cgi-bin/token"] == 1
    assert len(mock.log) == 2


@pytest.mark.parametrize(
    ("code", "hint"), [(40125, "wechat.secret"), (40013, "wechat.appid"), (40164, "IP")]
)
async def test_bad_credentials_are_fatal_with_what_to_fix(mock, session, code, hint):
    set_faults(mock, token_error=code)
    with pytest.raises(FatalError, match=hint) as caught:
        await make_api(session, mock.url).send_text("o1", "a")
    assert caught.value.errcode == code
    assert mock.token_calls == 1


async def test_token_kept_in_the_real_store_serves_the_next_process(mock, session, tmp_path):
    store = await Store.open(f"sqlite:///{tmp_path / 'neuraltalk.db'}")
    try:
        await WeChatAPI(session, mock.url, "wx", SECRET, store, retry=FAST).send_text("o1", "a")
        await WeChatAPI(session, mock.url, "wx", SECRET, store, retry=FAST).send_text("o2", "b")
        saved = await store.load_token()
    finally:
        await store.close()
    assert mock.token_calls == 1
    assert saved is not None and saved[0] in mock.tokens
