"""Test helpers: post to the webhook as WeChat's servers do, and sample messages of every type.

The signing and encryption are bot.wechat.follower.Follower, the same code `neuraltalk chat` uses;
the official WXBizMsgCrypt sample below checks it against Tencent's own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.wechat.follower import Follower, Push

TOKEN = "test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APPID = "wx0123456789abcdef"

# The official sample of Tencent's WXBizMsgCrypt (PLATFORM.md).
SAMPLE = {
    "token": "spamtest",
    "key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "appid": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "encrypt": (
        "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6"
        "F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T3"
        "32jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGC"
        "gavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6Oew"
        "pusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
    ),
}

# Fields of the message types other than text (as in wechatpy's tests/test_parser.py).
OTHER_TYPES: dict[str, dict[str, str]] = {
    "image": {"PicUrl": "http://mmbiz.qpic.cn/x.jpg", "MediaId": "media_id"},
    "voice": {"MediaId": "media_id", "Format": "amr"},
    "video": {"MediaId": "media_id", "ThumbMediaId": "thumb_media_id"},
    "shortvideo": {"MediaId": "media_id", "ThumbMediaId": "thumb_media_id"},
    "location": {
        "Location_X": "23.134521",
        "Location_Y": "113.358803",
        "Scale": "20",
        "Label": "位置信息",
    },
    "link": {
        "Title": "公众平台官网链接",
        "Description": "公众平台官网链接",
        "Url": "http://mp.weixin.qq.com",
    },
}


def settings_for(index_dir: Any, db: Any, safe: bool = False, **wechat: Any) -> Settings:
    base = {"token": TOKEN, "appid": APPID, "encoding_aes_key": AES_KEY if safe else ""}
    return Settings().replace(
        wechat={**base, **wechat},
        archive={"index_dir": str(index_dir)},
        storage={"url": f"sqlite:///{db}"},
    )


@dataclass
class Answer:
    status: int
    body: str
    text: str | None  # what the follower sees; None for `success`


class WeChat:
    """WeChat's servers in front of one test client: post messages, read replies."""

    def __init__(self, client: TestClient, safe: bool = False) -> None:
        self.client = client
        self.follower = Follower(TOKEN, AES_KEY if safe else "", APPID)

    async def post(self, push: Push, **params: str) -> Answer:
        response = await self.client.post("/wechat", params={**push.params, **params},
                                          data=push.body)  # fmt: skip
        body = await response.read()
        text = self.follower.reply_text(body) if response.status == 200 else None
        return Answer(response.status, body.decode("utf-8", "replace"), text)

    async def say(
        self, content: str, openid: str = "oFollower1", msg_id: str | None = None
    ) -> Answer:
        return await self.post(self.follower.push(self.follower.text(openid, content, msg_id)))

    async def event(self, event: str, openid: str = "oFollower1", **fields: Any) -> Answer:
        return await self.post(self.follower.push(self.follower.event(openid, event, **fields)))

    async def send_xml(self, xml: str) -> Answer:
        return await self.post(self.follower.push(xml))
