"""Several `yishi run` processes on one database behind one webhook URL, as an operator
would run them: each a real process started with `python -m bot run`, all behind a round
robin standing for the load balancer (tests/test_instances.py, bench/deployments.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from storage import Database, inbox
from storage import instances as instance_store

ROOT = Path(__file__).resolve().parent.parent.parent
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SECRET = "shared-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RoundRobin:
    """A load balancer in front of the instances: each request to the next one in turn;
    one that does not answer is skipped (as nginx's proxy_next_upstream does)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self.port = _free_port()
        self.served: dict[int, int] = dict.fromkeys(ports, 0)

    async def start(self) -> None:
        server = web.Application()
        server.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
        first = next(self._turn)
        for n in range(len(self.ports)):
            port = self.ports[(first + n) % len(self.ports)]
            try:
                async with self._session.post(f"http://127.0.0.1:{port}/telegram",
                                              data=body, headers=headers) as answer:
                    self.served[port] += 1
                    return web.Response(status=answer.status, body=await answer.read())
            except (ClientError, OSError, TimeoutError):
                continue
        return web.Response(status=502, text="no instance answered")


class Instance:
    """One `yishi run` process of the deployment."""

    def __init__(self, name: str, config: Path, port: int) -> None:
        self.name, self.config, self.port = name, config, port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, token: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
        env["YISHI_TELEGRAM__TOKEN"] = token
        with self.config.with_suffix(".log").open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "--config", str(self.config), cwd=ROOT,
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log)
        async with ClientSession(timeout=ClientTimeout(total=2)) as session:
            for _ in range(600):
                with contextlib.suppress(ClientError, OSError, TimeoutError):
                    async with session.get(f"http://127.0.0.1:{self.port}/healthz") as got:
                        if got.status in (200, 503):
                            return
                await asyncio.sleep(0.1)
        raise AssertionError(f"instance {self.name} did not start")

    async def health(self) -> dict[str, Any]:
        """What its GET /healthz says."""
        async with ClientSession(timeout=ClientTimeout(total=5)) as session, \
                session.get(f"http://127.0.0.1:{self.port}/healthz") as got:
            return dict(await got.json())

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                await self.kill()


class Deployment:
    """``count`` instances on one database and one clock file, behind one round robin;
    sharing the bot ([instances] shared) unless ``shared`` is False (then one instance)."""

    def __init__(self, api: Any, url: str, tmp_path: Path, count: int = 3, *,
                 shared: bool = True, extra: str = "") -> None:
        self.api, self.url = api, url
        self.clock_file = tmp_path / "now"
        ports = [_free_port() for _ in range(count)]
        self.balancer = RoundRobin(ports)
        self.instances = []
        for n, port in enumerate(ports, 1):
            config = tmp_path / f"i{n}.toml"
            config.write_text(
                f'[telegram]\nbase_url = "{api.base_url}"\n'
                f'base_file_url = "{api.base_file_url}"\n'
                f'webhook_url = "http://127.0.0.1:{self.balancer.port}/telegram"\n'
                f'webhook_secret = "{SECRET}"\n'
                f'[storage]\nurl = "{url}"\n'
                f'[scheduler]\ntick_seconds = 0.2\nclock_file = "{self.clock_file}"\n'
                f'[web]\nport = {port}\n'
                f'[instances]\nshared = {str(shared).lower()}\nname = "i{n}"\n' + extra)
            self.instances.append(Instance(f"i{n}", config, port))
        self.set_clock(START)

    def set_clock(self, instant: datetime) -> None:
        partial = self.clock_file.with_suffix(".new")
        partial.write_text(instant.isoformat())
        partial.replace(self.clock_file)

    async def start(self) -> None:
        await self.balancer.start()
        await asyncio.gather(*(i.start(self.api.token) for i in self.instances))

    async def stop(self) -> None:
        await asyncio.gather(*(i.stop() for i in self.instances))
        await self.balancer.stop()

    async def holder_of(self, chat_id: int) -> Instance | None:
        """The instance whose run holds the chat now, if any."""
        async with database(self.url) as db, db.transaction() as conn:
            runs = dict((run, name) for name, run in
                        await instance_store.alive(conn, timedelta(seconds=20)))
            held = {key: run for run in runs
                    for key in await instance_store.held(conn, run)}
        name = runs.get(held.get(chat_id, ""))
        return next((i for i in self.instances if i.name == name), None)

    async def settled(self, timeout: float = 90) -> None:
        """Everything posted so far is handled: the inbox is empty."""
        left = -1
        async with database(self.url) as db:
            for _ in range(int(timeout / 0.1)):
                async with db.transaction() as conn:
                    left = len(await inbox.pending(conn))
                if left == 0 and not self.api.undelivered:
                    return
                await asyncio.sleep(0.1)
        raise AssertionError(f"{left} updates still not handled")


@contextlib.asynccontextmanager
async def database(url: str) -> AsyncIterator[Database]:
    """The deployment's database, opened beside it (to look, or to seed)."""
    db = Database(url)
    await db.open()
    try:
        yield db
    finally:
        await db.close()
