"""`neuraltalk chat` in a terminal (a pty, through pexpect): line editing and history, Ctrl-C
clears the line, Ctrl-D and /quit leave on a new line with exit code 0."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

NEURALTALK = str(Path(sys.executable).parent / "neuraltalk")
PROMPT = "你>"  # prompt_toolkit draws the space as a cursor move
UP, HOME, CTRL_C, CTRL_D, BACKSPACE = "\x1b[A", "\x01", "\x03", "\x04", "\x7f"


@pytest.fixture
def terminal(sample_index: Path, tmp_path: Path) -> pexpect.spawn:
    """`neuraltalk chat` (an in-process app on the sample index) in an 80x24 pty."""
    (tmp_path / "data").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEURALTALK_")}
    env.update(NEURALTALK_ARCHIVE_INDEX_DIR=str(sample_index), TERM="xterm", LANG="C.UTF-8")
    child = pexpect.spawn(NEURALTALK, ["chat"], cwd=str(tmp_path), env=env, encoding="utf-8",
                          timeout=30, dimensions=(24, 80))  # fmt: skip
    child.expect_exact(PROMPT)
    yield child
    child.close(force=True)


def _ask(child: pexpect.spawn, keys: str, answer: str) -> None:
    child.send(keys + "\r")
    child.expect_exact(answer)
    child.expect_exact(PROMPT)


def test_editing_history_ctrl_c_and_ctrl_d(terminal: pexpect.spawn) -> None:
    terminal.send("这一行不会发出")
    terminal.send(CTRL_C)  # clears the line: what follows is a new one
    terminal.expect_exact(PROMPT)
    _ask(terminal, "帮助", "发关键词搜索")
    _ask(terminal, "化" + HOME + "量", "「量化」共")  # typed 化, went home, typed 量 before it
    _ask(terminal, "Tengine" + BACKSPACE + "e", "「Tengine」共")
    _ask(terminal, UP + UP + UP, "发关键词搜索")  # history: 帮助 again
    terminal.send(CTRL_D)
    terminal.expect(pexpect.EOF)
    terminal.close()
    assert terminal.exitstatus == 0
    assert terminal.before.endswith("\n")


def test_quit_leaves_with_exit_code_0(terminal: pexpect.spawn) -> None:
    terminal.send("/quit\r")
    terminal.expect(pexpect.EOF)
    terminal.close()
    assert terminal.exitstatus == 0
    assert terminal.before.endswith("\n")
