"""`neuraltalk subscribers [--json]`, `subscribers add` and `remove`, via the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str, str]]  # the `neuraltalk` fixture of conftest.py


def test_add_and_remove_say_what_changed(db_url: str, neuraltalk: Run) -> None:
    assert neuraltalk("subscribers", "add", "o-1") == (0, "subscribed o-1 to every issue\n", "")
    code, out, _ = neuraltalk("subscribers", "add", "o-1")
    assert code == 0 and "already subscribes to every issue; nothing changed" in out
    code, out, _ = neuraltalk("subscribers", "add", "o-1", "--topic", "量化")
    assert (code, out) == (0, "subscribed o-1 to topic 量化\n")
    code, out, _ = neuraltalk("subscribers", "remove", "o-1")
    assert (code, out) == (0, "unsubscribed o-1 from every issue, topic 量化\n")
    code, out, _ = neuraltalk("subscribers", "remove", "o-1")
    assert (code, out) == (0, "o-1 is already unsubscribed; nothing changed\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "bad id"], "error: bad openid 'bad id'"),
        (["add", "x" * 65], "error: bad openid"),
        (["add", ""], "error: bad openid"),
        (["add", "o-1", "--topic", "t" * 21], "error: bad topic"),
        (["add", "o-1", "--topic", " "], "error: bad topic"),
        (["remove", "nobody"], "error: no subscriber nobody"),
    ],
)
def test_bad_input_is_a_one_line_error(
    db_url: str, neuraltalk: Run, args: list[str], message: str
) -> None:
    code, out, err = neuraltalk("subscribers", *args)
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1
    assert json.loads(neuraltalk("subscribers", "--json")[1])["subscribers"] == []


def test_the_table_lists_subscribers_and_counts(db_url: str, neuraltalk: Run) -> None:
    code, out, _ = neuraltalk("subscribers")
    assert code == 0 and "no subscribers yet" in out
    neuraltalk("subscribers", "add", "o-1")
    neuraltalk("subscribers", "add", "o-2", "--topic", "量化")
    neuraltalk("subscribers", "add", "o-3")
    neuraltalk("subscribers", "remove", "o-3")
    code, out, _ = neuraltalk("subscribers")
    assert code == 0
    assert [line.split()[:3] for line in out.splitlines() if line.strip().startswith("o-")] == [
        ["o-1", "active", "yes"],
        ["o-2", "active", "no"],
        ["o-3", "unsubscribed", "no"],
    ]
    assert "2 active, 1 unsubscribed; topics: 量化 1" in out


def test_json_through_the_installed_command(db_url: str, neuraltalk: Run) -> None:
    neuraltalk("subscribers", "add", "o-b")
    neuraltalk("subscribers", "add", "o-a", "--topic", "量化")
    neuraltalk("subscribers", "add", "o-a", "--topic", "npu")
    neuraltalk("subscribers", "add", "o-c", "--topic", "量化")
    neuraltalk("subscribers", "remove", "o-c")
    command = [str(Path(sys.executable).parent / "neuraltalk"), "subscribers", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=True)
    listed = json.loads(done.stdout)
    assert set(listed) == {"subscribers", "counts"}
    assert listed["counts"] == {"active": 2, "unsubscribed": 1, "topics": {"npu": 1, "量化": 1}}
    rows = listed["subscribers"]
    assert [(r["openid"], r["status"], r["all_issues"], r["topics"]) for r in rows] == [
        ("o-a", "active", False, ["npu", "量化"]),
        ("o-b", "active", True, []),
        ("o-c", "unsubscribed", False, []),
    ]
    keys = {"openid", "status", "all_issues", "topics", "subscribed_at", "last_interaction"}
    assert all(set(r) == keys for r in rows)
    assert all(datetime.fromisoformat(r["subscribed_at"]).utcoffset() is not None for r in rows)
    assert all(r["last_interaction"] is None for r in rows)
