"""Rehearsals keep their own database, so that they never touch the real account's state.

A rehearsal is any run whose wechat.api_base_url is not WeChat's (`neuraltalk mock-wechat`,
a test server). When storage.url is left at its default, such a run uses data/rehearsal.db
instead of data/neuraltalk.db: its subscribers, campaigns and deliveries stay apart, and the
real broadcast of the same issue afterwards starts from the real state. An explicit storage.url
(one that differs from the default) is always used as it is.
"""

from __future__ import annotations

from bot.config import Settings, StorageSettings

WECHAT_API = "https://api.weixin.qq.com"
REHEARSAL_URL = "sqlite:///data/rehearsal.db"


def is_rehearsal(settings: Settings) -> bool:
    return settings.wechat.api_base_url.rstrip("/") != WECHAT_API


def storage_settings(settings: Settings) -> Settings:
    """settings, with the rehearsal database when rehearsing on the default storage.url."""
    if is_rehearsal(settings) and settings.storage.url == StorageSettings().url:
        return settings.replace(storage={"url": REHEARSAL_URL})
    return settings


def trial_settings(settings: Settings) -> Settings:
    """settings for an in-process trial (`neuraltalk chat`): always the rehearsal database."""
    return settings.replace(storage={"url": REHEARSAL_URL})
