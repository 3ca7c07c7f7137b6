"""The WeChat API client made from the application's settings, and the credentials it needs.

bot.wechat knows nothing of our configuration; this is where settings.wechat becomes its
arguments.
"""

from __future__ import annotations

import aiohttp

from bot.config import WechatSettings
from bot.errors import UserError
from bot.wechat.access_token import SharedLock
from bot.wechat.api import RetryPolicy, TokenStore, WeChatAPI


def check_credentials(wechat: WechatSettings) -> None:
    """UserError unless the settings can send: the real API needs wechat.appid and .secret."""
    real = "api.weixin.qq.com" in wechat.api_base_url
    if real and not (wechat.appid and wechat.secret):
        raise UserError(
            "wechat.appid and wechat.secret are needed to send: set them in neuraltalk.yaml "
            "or NEURALTALK_WECHAT_APPID / NEURALTALK_WECHAT_SECRET"
        )


def api_from_settings(
    session: aiohttp.ClientSession,
    wechat: WechatSettings,
    token_store: TokenStore,
    retry: RetryPolicy | None = None,
    token_lock: SharedLock | None = None,
) -> WeChatAPI:
    """The client for settings.wechat (check_credentials first: the real API needs them);
    token_lock: the access_token renewal's lock shared by processes (redis.url)."""
    w = wechat
    return WeChatAPI(
        session, w.api_base_url, w.appid, w.secret, token_store, retry=retry, token_lock=token_lock
    )
