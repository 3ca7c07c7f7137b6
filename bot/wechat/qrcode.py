"""Permanent QR codes with a scene string (/cgi-bin/qrcode/create, QR_LIMIT_STR_SCENE), and
their PNG rendered here from the code's url (segno): nothing is downloaded from WeChat.

A scan hands the scene back to the webhook: in a follow event's EventKey as `qrscene_<scene>`,
in a SCAN event's as `<scene>`. An account has up to 100,000 permanent codes; asking again for
the same scene gives the same ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import segno

from bot.wechat.api import WeChatAPI
from bot.wechat.errors import ERR_BAD_ANSWER, FatalError

SHOW_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="


@dataclass(frozen=True)
class QRCode:
    scene: str
    ticket: str
    url: str  # what the code encodes (http://weixin.qq.com/q/…)


async def permanent_qrcode(api: WeChatAPI, scene: str) -> QRCode:
    """A permanent QR code for `scene` (1 to 64 characters)."""
    if not 1 <= len(scene) <= 64:
        raise ValueError(f"a scene string has 1 to 64 characters, got {len(scene)}")
    body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
    answer = await api.call("/cgi-bin/qrcode/create", body)
    ticket, url = answer.get("ticket"), answer.get("url")
    if not isinstance(ticket, str) or not isinstance(url, str) or not url:
        raise FatalError(ERR_BAD_ANSWER, "no ticket or url", "/cgi-bin/qrcode/create gave no url")
    return QRCode(scene, ticket, url)


def write_png(code: QRCode, path: Path, scale: int = 10) -> None:
    """The code as a PNG (error correction M, a 4-module quiet zone), rendered from its url."""
    segno.make(code.url, error="m").save(str(path), kind="png", scale=scale)
