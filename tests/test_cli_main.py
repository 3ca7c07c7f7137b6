"""The conventions of the `neuraltalk` command: --version, --debug anywhere, help on every option,
one-line errors (a traceback only with --debug)."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version

import click
import pytest

from bot.cli.main import cli, main
from bot.store.subscribers import InvalidInput

Run = Callable[..., tuple[int, str, str]]  # the `neuraltalk` fixture of conftest.py


def test_version(neuraltalk: Run) -> None:
    code, out, _ = neuraltalk("--version")
    assert (code, out) == (0, f"neuraltalk, version {version('neuraltalk')}\n")


@pytest.mark.parametrize(
    "args",
    [["--debug", "subscribers"], ["subscribers", "--debug"], ["subscribers", "--json", "--debug"]],
)
def test_debug_is_accepted_anywhere(db_url: str, neuraltalk: Run, args: list[str]) -> None:
    code, out, err = neuraltalk(*args)
    assert code == 0 and err == "", err
    assert "no subscribers yet" in out or '"subscribers": []' in out


def test_errors_are_one_line_and_a_traceback_only_with_debug(db_url: str, neuraltalk: Run) -> None:
    code, out, err = neuraltalk("subscribers", "add", "bad id")
    assert (code, out) == (1, "") and err.startswith("error: bad openid") and err.count("\n") == 1
    with pytest.raises(InvalidInput):
        main(["subscribers", "add", "bad id", "--debug"])


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = [(prefix or "neuraltalk", group)]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(_commands(command, f"{prefix} {name}".strip()))
        else:
            found.append((f"{prefix} {name}".strip(), command))
    return found


def test_every_option_has_help() -> None:
    missing = [
        f"{where} {opt.opts[0]}"
        for where, command in _commands(cli)
        for opt in command.params
        if isinstance(opt, click.Option) and not opt.hidden and not opt.help
    ]
    assert missing == []


def test_remove_one_topic(db_url: str, neuraltalk: Run) -> None:
    neuraltalk("subscribers", "add", "o-1")
    neuraltalk("subscribers", "add", "o-1", "--topic", "量化")
    code, out, _ = neuraltalk("subscribers", "remove", "o-1", "--topic", "量化")
    assert (code, out) == (0, "unsubscribed o-1 from topic 量化\n")
    code, out, _ = neuraltalk("subscribers", "remove", "o-1", "--topic", "量化")
    assert (code, out) == (0, "o-1 does not subscribe to topic 量化; nothing changed\n")
    code, out, _ = neuraltalk("subscribers", "remove", "o-1")
    assert (code, out) == (0, "unsubscribed o-1 from every issue\n")


def test_the_table_shows_both_times_in_one_format(db_url: str, neuraltalk: Run) -> None:
    import asyncio
    import re
    from datetime import UTC, datetime

    from bot.store.store import Store

    async def seen() -> None:
        store = await Store.open(db_url)
        try:
            await store.subscribe("o-1")
            await store.touch({"o-1": datetime(2026, 5, 4, 3, 2, tzinfo=UTC)})
        finally:
            await store.close()

    asyncio.run(seen())
    _, out, _ = neuraltalk("subscribers")
    row = next(line for line in out.splitlines() if line.strip().startswith("o-1"))
    times = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", row)
    assert len(times) == 2 and times[1] == "2026-05-04 03:02", row


def test_the_command_loads_no_web_stack_before_a_command_needs_it() -> None:
    import subprocess
    import sys

    probe = "import sys, bot.cli.main; print(sorted({'aiohttp', 'sqlalchemy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
