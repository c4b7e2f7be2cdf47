"""`yishi sandbox`: try yishi without Telegram, in a browser on this machine."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from pathlib import Path

from bot.clock import ShiftedClock


async def serve(port: int, db: str | None, language: str) -> None:
    """Run the sandbox until interrupted (Ctrl-C)."""
    from bot.sandbox.web import SandboxWeb
    from bot.sandbox.world import Sandbox

    with tempfile.TemporaryDirectory(prefix="yishi-sandbox-") as folder:
        path: Path | str = db if db else Path(folder) / "sandbox.db"
        holder: dict[str, SandboxWeb] = {}
        sandbox = Sandbox(path, language=language, clock=ShiftedClock(), port=port,
                          routes=lambda app: holder["web"].routes(app))
        holder["web"] = SandboxWeb(sandbox)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await sandbox.start()
        try:
            print(f"yishi sandbox: open http://127.0.0.1:{sandbox.port}/ in a browser "
                  f"(database {path}; Ctrl-C stops)", file=sys.stderr, flush=True)
            await stop.wait()
        finally:
            await sandbox.stop()
