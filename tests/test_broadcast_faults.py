"""The broadcast under faults, as the editor runs it: kill -9 at random moments, Ctrl-C and
SIGTERM, an unreachable API (the CLI against `neuraltalk mock-wechat` in its own process), and
lost answers and token expiry under concurrency (in-process, against the fake over HTTP).

The fixtures store_url, mock_url and fake are test_cli_broadcast's (hence F811 below).
"""
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from broadcast_support import (
    ISSUE,
    make_settings,
    mock_log,
    received,
    seed_subscribers,
    set_faults,
)
from test_cli_broadcast import (  # noqa: F401 (fixtures)
    NEURALTALK,
    _broadcast,
    _campaigns,
    _free_port,
    _populate,
    _post,
    env_for,
    fake,
    mock_url,
)

from bot.broadcast.request import Request
from bot.broadcast.run import run_broadcast
from bot.fake_wechat.server import Faults, serve_mock
from bot.store.store import Store

CONCURRENCY = 8  # env_for's NEURALTALK_BROADCAST_CONCURRENCY


def _wait_for_messages(fake: str, proc: subprocess.Popen[str], at_least: int) -> None:
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if len(asyncio.run(mock_log(fake))) >= at_least:
            return
        time.sleep(0.02)


def _sending(env: dict[str, str]) -> int:
    [campaign] = _campaigns(env)
    return int(campaign["counts"]["sending"])


def test_kill_9_at_random_moments_leaves_at_most_the_requests_in_flight_in_doubt(
    sample_index: Path, tmp_path: Path, store_url: str, fake: str
) -> None:
    people = asyncio.run(_populate(store_url, 300))
    _post(fake, "/_mock/faults", {"latency": 0.03})
    env = env_for(sample_index, store_url, fake)
    rng = random.Random(9)
    before = 0
    for _ in range(4):
        proc = _broadcast(env, tmp_path)
        target = len(asyncio.run(mock_log(fake))) + rng.choice([0, 1, 7, 20, 45])
        if target:
            _wait_for_messages(fake, proc, target)
        else:
            time.sleep(rng.uniform(0.3, 1.0))  # while starting or planning
        proc.kill()
        proc.communicate(timeout=10)
        if _campaigns(env):
            after = _sending(env)
            assert after - before <= CONCURRENCY, "more in doubt than requests in flight"
            before = after
    resumed = _broadcast(env, tmp_path)
    out, _ = resumed.communicate(timeout=120)
    [campaign] = _campaigns(env)
    in_doubt = campaign["in_doubt"]
    assert in_doubt == before
    assert resumed.returncode == (3 if in_doubt else 0), out
    got = received(asyncio.run(mock_log(fake)))
    assert max(got.values()) == 1, "somebody got the issue twice"
    assert len(set(people) - set(got)) <= in_doubt, "somebody lost without being reported"
    assert campaign["sent"] + in_doubt == len(people)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_pauses_with_the_report_and_the_same_command_resumes(
    sample_index: Path, tmp_path: Path, store_url: str, fake: str, sig: int, code: int
) -> None:
    people = asyncio.run(_populate(store_url, 60))
    env = env_for(sample_index, store_url, fake)
    proc = _broadcast(env, tmp_path, "--rate", "10")
    _wait_for_messages(fake, proc, 5)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == code, out
    assert "interrupted" in out and "crash" not in out
    assert "campaign paused" in out and "in doubt      0" in out
    [campaign] = _campaigns(env)
    assert campaign["status"] == "paused"
    assert campaign["in_doubt"] == 0 and campaign["counts"]["sending"] == 0
    assert 0 < campaign["sent"] < len(people)

    resumed = _broadcast(env, tmp_path)
    out, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, out
    got = received(asyncio.run(mock_log(fake)))
    assert set(got) == set(people) and max(got.values()) == 1
    assert _campaigns(env)[0]["status"] == "finished"


def test_a_second_signal_exits_at_once_and_only_what_was_in_flight_is_in_doubt(
    sample_index: Path, tmp_path: Path, store_url: str, fake: str
) -> None:
    people = asyncio.run(_populate(store_url, 40))
    asyncio.run(set_faults(fake, latency=1.0))  # every request in flight for a second
    env = env_for(sample_index, store_url, fake)
    proc = _broadcast(env, tmp_path, "--concurrency", "4")
    _wait_for_messages(fake, proc, 8)  # two rounds went out; the third is in flight
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert "interrupted again" in out and "campaign paused" not in out  # no waiting, no report

    resumed = _broadcast(env, tmp_path)  # the same command: the in-flight ones are in doubt
    out, _ = resumed.communicate(timeout=120)
    doubt, (_, counts) = asyncio.run(_doubt(store_url))
    assert 0 < len(doubt) <= 4, out  # at most --concurrency: the requests that were in flight
    assert resumed.returncode == 3 and counts.in_doubt == len(doubt), out
    got = received(asyncio.run(mock_log(fake)))
    assert max(got.values()) == 1  # nobody twice
    assert set(people) - set(got) <= doubt  # whoever did not get it is reported in doubt


def test_a_terminal_gone_away_never_stalls_the_broadcast(
    sample_index: Path, tmp_path: Path, store_url: str, fake: str
) -> None:
    """The pipe the progress lines go to is closed by its reader (a `| tee` killed, a closed
    terminal): sending goes on and ends; the progress display is not worth a stalled campaign."""
    people = asyncio.run(_populate(store_url, 30))
    env = env_for(sample_index, store_url, fake)
    proc = _broadcast(env, tmp_path, "--rate", "6")  # 5 s: progress lines every 3 s
    _wait_for_messages(fake, proc, 3)
    assert proc.stdout is not None
    proc.stdout.close()  # nobody reads its output any more: its writes fail with EPIPE
    try:
        proc.wait(timeout=60)
    finally:
        proc.kill()
    [campaign] = _campaigns(env)
    assert campaign["status"] == "finished", campaign
    got = received(asyncio.run(mock_log(fake)))
    assert set(got) == set(people) and max(got.values()) == 1


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEURALTALK, *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unreachable_api_stops_at_once_naming_it_with_nothing_in_doubt(
    sample_index: Path, tmp_path: Path, store_url: str
) -> None:
    asyncio.run(_populate(store_url, 5))
    url = f"http://127.0.0.1:{_free_port()}"  # nobody listens there
    env = env_for(sample_index, store_url, url)
    for args in (["--yes"], ["--preview", "in00000"], ["--dry-run"]):
        done = _run(env, tmp_path, "broadcast", ISSUE, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert f"wechat.api_base_url {url}" in done.stderr, args
        assert "is `neuraltalk mock-wechat` running?" in done.stderr
    [campaign] = _campaigns(env)
    assert campaign["status"] == "stopped"
    assert campaign["in_doubt"] == 0 and campaign["pending"] == 5


async def _doubt(store_url: str) -> tuple[set[str], Any]:
    store = await Store.open(store_url)
    try:
        campaign, counts = (await store.list_campaigns())[0]
        return {d.openid for d in await store.in_doubt(campaign.id)}, (campaign, counts)
    finally:
        await store.close()


async def test_lost_answers_are_in_doubt_never_sent_twice_then_forgotten(
    sample_index: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    people = await seed_subscribers(store_url, 60, "in")
    async with serve_mock({"lost_answer_probability": 0.2, "seed": 5}) as mock:
        settings = make_settings(sample_index, store_url, mock.url)
        code = await run_broadcast(
            settings, Request.of(settings, ISSUE, channel="custom", yes=True)
        )
        got = received(await mock_log(mock.url))
        doubt, (campaign, counts) = await _doubt(store_url)
        assert max(got.values()) == 1, "a lost answer was sent again"
        assert doubt and code == 3
        assert counts.by_status["sent"] + len(doubt) == len(people)
        assert set(got) - doubt == set(people) - doubt  # WeChat has nobody we call sent wrongly
        assert f"in doubt      {len(doubt)}" in capsys.readouterr().out

        again = await run_broadcast(
            settings, Request.of(settings, ISSUE, channel="custom", yes=True)
        )
        assert again == 3
        assert f"nothing left to send; {len(doubt)} in doubt" in capsys.readouterr().out
        forget = Request.of(settings, ISSUE, channel="custom", yes=True, forget_in_doubt=True)
        assert await run_broadcast(settings, forget) == 0
        assert received(await mock_log(mock.url)) == got  # nothing re-sent
    _, (campaign, counts) = await _doubt(store_url)
    assert campaign.status == "finished"
    assert counts.forgotten == len(doubt) and counts.in_doubt == 0


async def test_token_expiry_every_30_calls_at_concurrency_20_finishes(
    sample_index: Path, store_url: str
) -> None:
    people = await seed_subscribers(store_url, 120, "in")
    async with serve_mock({"expire_token_after": 30, "latency": 0.01}) as mock:
        settings = make_settings(sample_index, store_url, mock.url)
        request = Request.of(settings, ISSUE, channel="custom", yes=True, concurrency=20)
        assert await run_broadcast(settings, request) == 0
        got = received(await mock_log(mock.url))
        assert mock.token_calls >= 2
    assert set(got) == set(people) and max(got.values()) == 1


def test_the_rehearsal_keeps_its_own_database_and_the_real_run_is_untouched(
    sample_index: Path, tmp_path: Path, fake: str
) -> None:
    rehearsal = env_for(sample_index, "", fake)
    del rehearsal["NEURALTALK_STORAGE_URL"]  # the default, as in the README
    assert _run(rehearsal, tmp_path, "subscribers", "add", "my-openid").returncode == 0
    done = _run(rehearsal, tmp_path, "broadcast", ISSUE, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "data" / "rehearsal.db").exists()
    assert set(received(asyncio.run(mock_log(fake)))) <= {"my-openid"}, done.stdout

    real = {**rehearsal, "NEURALTALK_WECHAT_API_BASE_URL": "https://api.weixin.qq.com"}
    real["NEURALTALK_WECHAT_SECRET"] = ""  # nothing may reach the real API from a test
    listed = _run(real, tmp_path, "subscribers", "--json")
    assert "my-openid" not in listed.stdout
    assert "no campaigns yet" in _run(real, tmp_path, "campaigns").stdout
    dry = _run(real, tmp_path, "broadcast", ISSUE, "--dry-run")
    assert dry.returncode == 0 and "finished" not in dry.stdout
    table = _run({**rehearsal, "COLUMNS": "80"}, tmp_path, "campaigns").stdout
    assert "finished" in table and max(len(line) for line in table.splitlines()) <= 80
    again = _run(rehearsal, tmp_path, "broadcast", ISSUE, "--dry-run")
    assert "a real run would be refused" in again.stdout  # the rehearsal's campaign is finished


async def test_retry_in_doubt_resends_them_and_campaigns_says_so(
    sample_index: Path, store_url: str
) -> None:
    people = await seed_subscribers(store_url, 30, "in")
    async with serve_mock({"lost_answer_probability": 0.3, "seed": 2}) as mock:
        settings = make_settings(sample_index, store_url, mock.url)
        assert (
            await run_broadcast(settings, Request.of(settings, ISSUE, channel="custom", yes=True))
            == 3
        )
        doubt, _ = await _doubt(store_url)
        mock.set_faults(Faults())  # no more lost answers
        retry = Request.of(settings, ISSUE, channel="custom", yes=True, retry_in_doubt=True)
        assert await run_broadcast(settings, retry) == 0
        got = received(await mock_log(mock.url))
    assert set(got) == set(people)
    assert all(n == 1 for o, n in got.items() if o not in doubt)  # only in-doubt ones twice
    _, (campaign, counts) = await _doubt(store_url)
    assert campaign.status == "finished"
    assert counts.resent == len(doubt) and counts.forgotten == 0 and counts.in_doubt == 0
