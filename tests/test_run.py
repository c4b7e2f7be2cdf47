"""`yishi run` as a user starts it: a real process, pointed at the fake Bot API."""

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from bot.fakeapi.server import Fault

ROOT = Path(__file__).resolve().parent.parent


async def _yishi_run(config: Path, *, token: str | None = None) -> asyncio.subprocess.Process:
    """`yishi run --config CONFIG` as a process, with none of this one's YISHI_ settings
    (and the token, when given, in the environment, as the README advises)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    if token is not None:
        env["YISHI_TELEGRAM__TOKEN"] = token
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def test_yishi_run_serves_a_building(api, tg, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\nbase_url = "{api.base_url}"\nbase_file_url = "{api.base_file_url}"\n'
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "run.db"}"\n'
    )
    process = await _yishi_run(config, token=api.token)
    try:
        await api.wait_for("setMyCommands", timeout=30)
        await api.wait_for("deleteMyCommands", timeout=30)

        ann = tg.person("Ann", language_code="en")
        mark = api.mark()
        await tg.say(ann, ann, "/start")
        reply = await api.wait_for("sendMessage", after=mark)
        assert reply.text.startswith("Hello, Ann!")

        owner = tg.person("Owner")
        group = tg.group("Riverside 2")
        mark = api.mark()
        await tg.add_bot(group, owner)
        greeting = await api.wait_for("sendMessage", after=mark)
        assert greeting.chat_id == group.id

        for fault in (Fault("sendMessage", "429", retry_after=1), Fault("sendMessage", "500"),
                      Fault("getUpdates", "500")):
            api.faults.append(fault)
            mark = api.mark()
            await tg.say(group, owner, "/help")
            if fault.kind == "500" and fault.method == "sendMessage":
                continue  # that answer is lost; the next one must arrive
            reply = await api.wait_for("sendMessage", after=mark, timeout=20)
            assert reply.chat_id == group.id
        mark = api.mark()
        await tg.say(group, owner, "/help")
        reply = await api.wait_for("sendMessage", after=mark, timeout=20)
        assert "/settings" in reply.text
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert api.token not in log and api.token.split(":")[1] not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["msg"] == "yishi started" for r in records)
    assert api.violations == []


async def test_a_token_telegram_rejects_is_one_line_and_exit_2(api, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "999:wrong"\nbase_url = "{api.base_url}"\n'
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "run.db"}"\n'
    )
    process = await _yishi_run(config)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    *logged, last = stderr.decode().strip().splitlines()
    assert last == "yishi: config error: telegram.token: Telegram rejected this token"
    assert "999:wrong" not in stderr.decode()
    # Only structured log lines before it: no raw traceback for a person to read.
    assert all(line.startswith("{") for line in logged)


async def test_yishi_run_with_a_webhook(api, tg, tmp_path):
    """`yishi run` with [telegram] webhook_url: it sets the webhook, answers what Telegram
    posts there, and stops cleanly on SIGTERM (as systemd stops it); neither the token nor
    the webhook's secret reaches the log."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "only-telegram-knows-this"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\nbase_url = "{api.base_url}"\nbase_file_url = "{api.base_file_url}"\n'
        f'webhook_url = "http://127.0.0.1:{port}/telegram"\nwebhook_secret = "{secret}"\n'
        f'[web]\nport = {port}\n'
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "run.db"}"\n'
    )
    process = await _yishi_run(config, token=api.token)
    try:
        await api.wait_for("setWebhook", timeout=30)
        ann = tg.person("Ann", language_code="en")
        mark = api.mark()
        await tg.say(ann, ann, "/start")
        reply = await api.wait_for("sendMessage", after=mark, timeout=20)
        assert reply.text.startswith("Hello, Ann!")
        assert [status for _update, status in api.webhook_posts] == [200]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    log = stderr.decode()
    assert api.token.split(":")[1] not in log and secret not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(r["msg"] == "webhook set" for r in records)
    assert not [c for c in api.calls if c.method == "getUpdates"]
