"""`neuraltalk chat`: talk to the bot in a terminal as a follower would.

Each line is signed (and, with wechat.encoding_aes_key set, encrypted) as WeChat's servers do,
posted to --url or to an app started in this process, and the reply printed as the follower's
client shows it, links as "title (url)". /follow and /unfollow send those events; /quit ends.

In a terminal the line is read with prompt_toolkit: editing, history (up and down arrows),
Ctrl-C clears the line, Ctrl-D or /quit leaves on a new line with exit code 0. Piped input is
read a line at a time.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from bot.chat.app import create_app
from bot.config import Settings
from bot.errors import UserError
from bot.rehearsal import trial_settings
from bot.wechat.follower import Follower, as_seen
from bot.wechat.protocol import Rejected

PROMPT = "你> "
EVENTS = {"/follow": "subscribe", "/unfollow": "unsubscribe"}
INTRO = (
    "和 NeuralTalk 聊天（/follow 关注，/unfollow 取消关注，/quit 或 Ctrl-D 退出；发「帮助」看用法）"
)


def follower_for(settings: Settings) -> Follower:
    wechat = settings.wechat
    return Follower(wechat.token, wechat.encoding_aes_key, wechat.appid)


async def say(
    session: aiohttp.ClientSession, url: str, who: Follower, openid: str, line: str
) -> str:
    """Send one line (or /follow, /unfollow) and return what the follower would see."""
    event = EVENTS.get(line)
    xml = who.event(openid, event) if event else who.text(openid, line)
    push = who.push(xml)
    async with session.post(url, params=push.params, data=push.body) as response:
        body = await response.read()
        if response.status != 200:
            reason = body.decode("utf-8", "replace").strip()
            return f"(the server refused the message: HTTP {response.status} {reason})"
    try:
        text = who.reply_text(body)
    except Rejected as exc:
        return f"(the reply is not valid: {exc})"
    return "（没有回复）" if text is None else as_seen(text)


async def converse(
    settings: Settings,
    openid: str,
    url: str,
    read_line: Callable[[], Awaitable[str | None]],
    write: Callable[[str], None],
) -> int:
    """The loop: read a line, send it, write the reply; read_line returns None at the end."""
    who = follower_for(settings)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while True:
            line = await read_line()
            if line is None or line.strip() == "/quit":
                return 0
            if not line.strip():
                continue
            try:
                write(await say(session, url, who, openid, line.strip()))
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise UserError(f"cannot reach {url} ({exc or type(exc).__name__}); "
                                "is `neuraltalk serve` running?") from None  # fmt: skip


def line_reader() -> Callable[[], Awaitable[str | None]]:
    """How lines are read: prompt_toolkit in a terminal, else plain lines from stdin."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):

        async def piped() -> str | None:
            line = await asyncio.to_thread(sys.stdin.readline)
            return line.rstrip("\n") if line else None

        return piped
    os.environ.setdefault("PROMPT_TOOLKIT_NO_CPR", "1")  # no cursor-position queries needed
    from prompt_toolkit import PromptSession

    session: PromptSession[str] = PromptSession()

    async def prompted() -> str | None:
        while True:
            try:
                return await session.prompt_async(PROMPT)
            except KeyboardInterrupt:  # Ctrl-C: the line is cleared, ask again
                continue
            except EOFError:  # Ctrl-D on an empty line
                return None

    return prompted


def _write(text: str) -> None:
    print(text + "\n", flush=True)


async def _in_process(settings: Settings, openid: str) -> int:
    settings = trial_settings(settings)  # a trial: never a real subscriber
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        return await converse(settings, openid, f"http://127.0.0.1:{port}/wechat", line_reader(),
                              _write)  # fmt: skip
    finally:
        await runner.cleanup()


def run(settings: Settings, openid: str = "editor-trial", url: str | None = None) -> int:
    """The terminal chat; returns the exit code."""
    print(INTRO, file=sys.stderr)
    if url:
        code = asyncio.run(converse(settings, openid, url, line_reader(), _write))
    else:
        code = asyncio.run(_in_process(settings, openid))
    if sys.stdout.isatty():
        print(flush=True)  # leave the terminal on a new line
    return code
