"""Run the eight-week building simulation (tests/simulation.py) at any size and print
what a building's two months with yishi look like.

    python scripts/simulate.py [--residents 300] [--weeks 8] [--seed 8]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.clock import ManualClock  # noqa: E402
from bot.fakeapi.actions import Telegram  # noqa: E402
from bot.fakeapi.harness import START, RunningBot, make_settings  # noqa: E402
from bot.fakeapi.server import FakeBotApi  # noqa: E402
from tests.simulation import SPEEDUP, Simulation  # noqa: E402


async def main(residents: int, weeks: int, seed: int) -> int:
    api = FakeBotApi()
    await api.start()
    api.speedup = SPEEDUP
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(api, Path(folder) / "sim.db", summary={"enabled": True},
                                 topics={"post_refresh_seconds": 3},
                                 polls={"tally_refresh_seconds": 3})
        bot = RunningBot(api, settings, ManualClock(START),
                         speedup=SPEEDUP)
        await bot.start()
        try:
            simulation = Simulation(bot, api, Telegram(api), seed=seed, residents=residents,
                                    weeks=weeks)
            started = time.monotonic()
            await simulation.set_up()
            set_up = time.monotonic() - started
            await simulation.run()
            problems = await simulation.check()
            print(await simulation.report())
            print(f"\n(set-up {set_up:.0f} s, whole run {time.monotonic() - started:.0f} s)")
        finally:
            await bot.stop()
            await api.stop()
    for problem in problems:
        print("LEAK:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.residents, args.weeks, args.seed)))
