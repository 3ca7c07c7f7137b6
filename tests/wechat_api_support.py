"""Helpers shared by test_wechat_api.py and test_wechat_token.py: a fast client of the fake.

Import them with `from wechat_api_support import ...` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import aiohttp

from bot.fake_wechat.server import MockWeChat
from bot.wechat.api import MemoryTokenStore, RetryPolicy, WeChatAPI

FAST = RetryPolicy(attempts=4, initial=0.001, maximum=0.005, jitter=0.001)
SECRET = "s3cret-app-secret"
CUSTOM = "/cgi-bin/message/custom/send"


def make_api(
    session: aiohttp.ClientSession,
    url: str,
    store: MemoryTokenStore | None = None,
    timeout: float = 5.0,
) -> WeChatAPI:
    return WeChatAPI(
        session, url, "wx-test", SECRET, store or MemoryTokenStore(), retry=FAST, timeout=timeout
    )


def set_faults(mock: MockWeChat, **faults: object) -> None:
    mock.set_faults(mock.faults.parse(faults, mock.faults))


def fake_json(url: str) -> dict[str, Any]:
    """GET one of the fake's /_mock/ pages (log, stats, requests) as JSON."""
    with urllib.request.urlopen(url, timeout=5) as answer:
        return dict(json.loads(answer.read()))
