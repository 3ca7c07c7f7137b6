"""`neuraltalk menu push|show|delete` and `neuraltalk init`'s menu, against `neuraltalk
mock-wechat` running in its own process (real HTTP)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Run = Callable[..., tuple[int, str, str]]


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.loads(answer.read())


@pytest.fixture
def rehearsal(db_url: str, mock_process: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The fake as the API, with credentials; a fresh account (no menu) for each test."""
    monkeypatch.setenv("NEURALTALK_WECHAT_API_BASE_URL", mock_process)
    monkeypatch.setenv("NEURALTALK_WECHAT_APPID", "wx-trial")
    monkeypatch.setenv("NEURALTALK_WECHAT_SECRET", "trial")
    request = urllib.request.Request(f"{mock_process}/_mock/reset", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=5).close()
    return mock_process


def test_init_writes_an_example_menu_that_push_publishes(
    rehearsal: str, neuraltalk: Run, tmp_path: Path
) -> None:
    code, out, _ = neuraltalk("init")
    assert code == 0 and "menu.yaml" in out
    assert (tmp_path / "menu.yaml").is_file()
    code, out, err = neuraltalk("menu", "show")
    assert code == 0, err
    assert "no menu" in out
    code, out, err = neuraltalk("menu", "push")
    assert code == 0, err
    assert "published" in out and "最新一期 · 搜索帮助 · 订阅" in out
    code, out, err = neuraltalk("menu", "show")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "最新一期  → click 最新"
    assert lines[1] == "搜索帮助  → click 帮助"
    assert lines[2] == "订阅"
    assert "  订阅「量化」  → click 订阅 量化" in lines
    log = _get(f"{rehearsal}/_mock/log?channel=menu")["records"]
    assert len(log) == 1 and log[0]["content"].startswith("create ")
    assert '"key": "最新"' in log[0]["content"]


def test_delete_removes_the_menu(rehearsal: str, neuraltalk: Run, tmp_path: Path) -> None:
    neuraltalk("init")
    assert neuraltalk("menu", "push")[0] == 0
    code, out, err = neuraltalk("menu", "delete")
    assert code == 0, err
    assert "deleted" in out
    assert "no menu" in neuraltalk("menu", "show")[1]
    log = _get(f"{rehearsal}/_mock/log?channel=menu")["records"]
    assert [r["content"].split()[0] for r in log] == ["create", "delete"]


def test_a_broken_menu_is_one_line_and_nothing_is_sent(
    rehearsal: str, neuraltalk: Run, tmp_path: Path
) -> None:
    (tmp_path / "menu.yaml").write_text(
        "button:\n  - {name: 最新一期和往期, type: click, key: 最新}\n", encoding="utf-8"
    )
    code, _out, err = neuraltalk("menu", "push")
    assert code == 1
    assert err.count("\n") == 1
    assert "button 1: `name` is 21 bytes; WeChat allows at most 16" in err
    assert "Traceback" not in err
    assert _get(f"{rehearsal}/_mock/stats")["calls"] == {}


def test_the_menu_file_follows_wechat_menu_file(
    rehearsal: str, neuraltalk: Run, tmp_path: Path
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "neuraltalk.yaml").write_text("wechat:\n  menu_file: my-menu.yaml\n")
    code, _, err = neuraltalk("--config", "conf/neuraltalk.yaml", "menu", "push")
    assert code == 1 and "menu file conf/my-menu.yaml does not exist" in err
    (tmp_path / "conf" / "my-menu.yaml").write_text(
        "button:\n  - {name: 帮助, type: click, key: 帮助}\n", encoding="utf-8"
    )
    code, _out, err = neuraltalk("--config", "conf/neuraltalk.yaml", "menu", "push")
    assert code == 0, err
    assert neuraltalk("menu", "show")[1].splitlines() == ["帮助  → click 帮助"]


def test_without_credentials_for_the_real_api_it_says_what_to_set(
    db_url: str, neuraltalk: Run, tmp_path: Path
) -> None:
    neuraltalk("init")
    code, _, err = neuraltalk("menu", "push")
    assert code == 1
    assert "wechat.appid and wechat.secret" in err


@pytest.mark.parametrize(
    ("code", "line"),
    [
        (40018, "WeChat refused the menu (40018"),
        (48001, "the account has no such API"),
    ],
)
def test_a_menu_wechat_refuses_is_one_line_saying_why(
    rehearsal: str, neuraltalk: Run, tmp_path: Path, code: int, line: str
) -> None:
    neuraltalk("init")
    faults = json.dumps({"fail_all": code}).encode()
    request = urllib.request.Request(f"{rehearsal}/_mock/faults", data=faults, method="POST")
    urllib.request.urlopen(request, timeout=5).close()
    status, _, err = neuraltalk("menu", "push")
    assert status == 1 and line in err and err.count("\n") == 1
