"""`neuraltalk qrcode [--topic T] [--out FILE]` against `neuraltalk mock-wechat` in its own
process: the PNG decodes (zxing-cpp) to the url the fake gave for the scene."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

Run = Callable[..., tuple[int, str, str]]


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture
def rehearsal(db_url: str, mock_process: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NEURALTALK_WECHAT_API_BASE_URL", mock_process)
    monkeypatch.setenv("NEURALTALK_WECHAT_APPID", "wx-trial")
    monkeypatch.setenv("NEURALTALK_WECHAT_SECRET", "trial")
    return mock_process


def _decoded(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [code.text for code in zxingcpp.read_barcodes(image)]


def _printed(out: str, field: str) -> str:
    return next(line.split(None, 1)[1] for line in out.splitlines() if line.startswith(field))


def test_a_topic_code_is_a_png_of_the_url_wechat_gave(
    rehearsal: str, neuraltalk: Run, tmp_path: Path
) -> None:
    code, out, err = neuraltalk("qrcode", "--topic", "量化", "--out", "poster.png")
    assert code == 0, err
    assert _printed(out, "scene:") == "topic:量化"
    url = _printed(out, "url:")
    assert _printed(out, "ticket:")
    assert _decoded(tmp_path / "poster.png") == [url]
    log = _get(f"{rehearsal}/_mock/log?channel=qrcode")["records"]
    assert any(r["content"] == f"QR_LIMIT_STR_SCENE topic:量化 -> {url}" for r in log)
    sent = [r for r in _get(f"{rehearsal}/_mock/requests")["requests"]
            if r["path"] == "/cgi-bin/qrcode/create"]  # fmt: skip
    assert json.loads(sent[-1]["body"]) == {
        "action_name": "QR_LIMIT_STR_SCENE",
        "action_info": {"scene": {"scene_str": "topic:量化"}},
    }


def test_without_a_topic_the_code_subscribes_to_every_issue(
    rehearsal: str, neuraltalk: Run, tmp_path: Path
) -> None:
    code, out, err = neuraltalk("qrcode")
    assert code == 0, err
    assert _printed(out, "scene:") == "subscribe"
    assert _decoded(tmp_path / "qrcode-subscribe.png") == [_printed(out, "url:")]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--topic", "两个 词"), "is not a topic: one word of 1 to 20 characters"),
        (("--topic", "量" * 21), "is not a topic"),
        (("--out", "missing/x.png"), "the folder missing does not exist"),
    ],
)
def test_bad_arguments_are_one_line_before_any_call(
    rehearsal: str, neuraltalk: Run, args: tuple[str, ...], error: str
) -> None:
    before = _get(f"{rehearsal}/_mock/stats")["calls"].get("/cgi-bin/qrcode/create", 0)
    code, _, err = neuraltalk("qrcode", *args)
    assert code == 1 and error in err and err.count("\n") == 1
    assert _get(f"{rehearsal}/_mock/stats")["calls"].get("/cgi-bin/qrcode/create", 0) == before
