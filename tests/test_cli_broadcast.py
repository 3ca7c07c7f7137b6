"""`neuraltalk broadcast` and `neuraltalk campaigns` as the editor runs them, against a fake
WeChat API running in its own process (`neuraltalk mock-wechat`), including a kill -9 midway."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from broadcast_support import ISSUE, ISSUE_URL, add_subscribers, mock_log, received
from click.testing import CliRunner

from bot.cli.main import cli
from bot.store.store import Store

NEURALTALK = str(Path(sys.executable).parent / "neuraltalk")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mock_url(mock_process: str) -> str:
    """`neuraltalk mock-wechat` in its own process (conftest's mock_process)."""
    return mock_process


def _post(url: str, path: str, body: dict[str, Any]) -> None:
    import urllib.request

    req = urllib.request.Request(
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(req, timeout=5).read()


@pytest.fixture
def fake(mock_url: str) -> str:
    _post(mock_url, "/_mock/reset", {})
    return mock_url


def env_for(index: Path, store_url: str, api_url: str) -> dict[str, str]:
    return {
        "NEURALTALK_STORAGE_URL": store_url,
        "NEURALTALK_WECHAT_API_BASE_URL": api_url,
        "NEURALTALK_WECHAT_APPID": "wxtest",
        "NEURALTALK_WECHAT_SECRET": "s3cret",
        "NEURALTALK_WECHAT_ACCOUNT_TYPE": "service",
        "NEURALTALK_ARCHIVE_INDEX_DIR": str(index),
        "NEURALTALK_ARCHIVE_ISSUE_URL": ISSUE_URL,
        "NEURALTALK_BROADCAST_CONCURRENCY": "8",
    }


async def _populate(url: str, inside: int, outside: int = 0) -> list[str]:
    from datetime import timedelta

    store = await Store.open(url)
    try:
        people = await add_subscribers(store, inside, "in")
        people += await add_subscribers(store, outside, "out", last_interaction=timedelta(days=9))
        return people
    finally:
        await store.close()


def _invoke(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=True)


def _campaigns(env: dict[str, str]) -> list[dict[str, Any]]:
    result = _invoke(env, "campaigns", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["campaigns"]


def test_dry_run_shows_texts_and_sends_nothing(
    sample_index: Path, tmp_path: Path, fake: str
) -> None:
    url = f"sqlite:///{tmp_path / 'nt.db'}"
    asyncio.run(_populate(url, 3, 2))
    env = env_for(sample_index, url, fake)
    result = _invoke(env, "broadcast", ISSUE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "custom         3  the whole issue" in result.output
    assert "mass           2  the whole issue" in result.output
    assert "全文：https://example.org/report/2020-04-26.md" in result.output
    assert asyncio.run(mock_log(fake)) == []
    assert _campaigns(env) == []


def test_without_yes_and_without_terminal_it_refuses(
    sample_index: Path, tmp_path: Path, fake: str
) -> None:
    url = f"sqlite:///{tmp_path / 'nt.db'}"
    asyncio.run(_populate(url, 3))
    result = _invoke(env_for(sample_index, url, fake), "broadcast", ISSUE)
    assert result.exit_code == 1 and "pass --yes" in result.output
    assert asyncio.run(mock_log(fake)) == []


def test_without_credentials_for_the_real_api_it_refuses_before_planning(
    sample_index: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'nt.db'}"
    asyncio.run(_populate(url, 3))
    env = env_for(sample_index, url, "https://api.weixin.qq.com")
    env["NEURALTALK_WECHAT_SECRET"] = ""
    result = _invoke(env, "broadcast", ISSUE, "--yes")
    assert result.exit_code == 1
    assert result.output.startswith("error: wechat.appid and wechat.secret are needed")
    assert _campaigns(env) == []
    assert _invoke(env, "broadcast", ISSUE, "--dry-run").exit_code == 0  # no sending: allowed


def test_unknown_issue_names_the_newest(sample_index: Path, tmp_path: Path, fake: str) -> None:
    env = env_for(sample_index, f"sqlite:///{tmp_path / 'nt.db'}", fake)
    result = _invoke(env, "broadcast", "2031-01-01", "--yes")
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "2031-01-01" in result.output and ISSUE in result.output


def test_preview_reaches_one_openid_and_is_no_campaign(
    sample_index: Path, tmp_path: Path, fake: str
) -> None:
    url = f"sqlite:///{tmp_path / 'nt.db'}"
    asyncio.run(_populate(url, 3))
    env = env_for(sample_index, url, fake)
    _post(fake, "/_mock/faults", {"recipient_errors": {"editor2": 45015}})
    assert _invoke(env, "broadcast", ISSUE, "--preview", "editor1").exit_code == 0
    result = _invoke(env, "broadcast", ISSUE, "--preview", "editor2")
    assert result.exit_code != 0  # the fake refuses editor2 on both channels
    log = asyncio.run(mock_log(fake))
    assert [(r["openid"], r["channel"]) for r in log] == [("editor1", "custom")]
    assert _campaigns(env) == []


def test_a_fatal_wechat_error_is_one_line_saying_what_to_fix(
    sample_index: Path, tmp_path: Path, fake: str
) -> None:
    url = f"sqlite:///{tmp_path / 'nt.db'}"
    asyncio.run(_populate(url, 3))
    _post(fake, "/_mock/faults", {"token_error": 40125})
    result = _invoke(env_for(sample_index, url, fake), "broadcast", ISSUE, "--preview", "editor1")
    assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: WeChat ") and "check wechat.secret" in result.output


def _broadcast(env: dict[str, str], cwd: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [NEURALTALK, "broadcast", ISSUE, "--yes", "--channel", "custom", *extra],
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_kill_9_midway_then_resume_sends_nobody_twice(
    sample_index: Path, tmp_path: Path, store_url: str, fake: str
) -> None:
    people = asyncio.run(_populate(store_url, 400))
    _post(fake, "/_mock/faults", {"latency": 0.04})
    env = env_for(sample_index, store_url, fake)
    proc = _broadcast(env, tmp_path)
    deadline = time.monotonic() + 60
    while len(asyncio.run(mock_log(fake))) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    before = received(asyncio.run(mock_log(fake)))
    assert 0 < len(before) < len(people), "the kill did not land midway"

    resumed = _broadcast(env, tmp_path)
    out, _ = resumed.communicate(timeout=120)
    [campaign] = _campaigns(env)
    in_doubt = campaign["in_doubt"]
    assert resumed.returncode == (3 if in_doubt else 0), out
    got = received(asyncio.run(mock_log(fake)))
    assert max(got.values()) == 1, "somebody got the issue twice"
    assert in_doubt <= 8  # at most the sends in flight (--concurrency 8)
    assert f"{in_doubt} in doubt" in out
    assert len(set(people) - set(got)) <= in_doubt
    assert campaign["counts"]["sent"] + in_doubt == len(people)


def test_a_broadcast_ends_with_its_counters_in_prometheus_text(
    sample_index: Path, tmp_path: Path, fake: str
) -> None:
    from scale_support import metric

    url = f"sqlite:///{tmp_path / 'nt.db'}"
    asyncio.run(_populate(url, 3))
    _post(fake, "/_mock/faults", {"recipient_errors": {"in00000": 40003}})
    result = _invoke(env_for(sample_index, url, fake), "broadcast", ISSUE, "--yes")
    lines = [ln for ln in result.output.splitlines() if ln.startswith(("#", "neuraltalk_"))]
    text = "\n".join(lines) + "\n"
    labels = {"issue": ISSUE, "channel": "auto"}
    assert metric(text, "neuraltalk_broadcast_sent", **labels) == 2, result.output
    assert metric(text, "neuraltalk_broadcast_failed", **labels) == 1
    assert metric(text, "neuraltalk_broadcast_in_doubt", **labels) == 0
