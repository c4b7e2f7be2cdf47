"""`python -m bench [--runs N] [name ...]`: run the benchmarks and print their tables."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import platform
import sys

BENCHMARKS = {"votes": "bench.vote_burst", "fanout": "bench.fanout", "tick": "bench.tick",
              "footprint": "bench.footprint", "stream": "bench.stream",
              "answers": "bench.answers", "deployments": "bench.deployments"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*",
                        help=f"which to run (default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; there are {', '.join(BENCHMARKS)}")
    logging.basicConfig(level=logging.CRITICAL)  # the bot's own logs would drown the tables
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, {platform.system()} {platform.release()}")
    for name in args.names or list(BENCHMARKS):
        print()
        module = importlib.import_module(BENCHMARKS[name])
        print(asyncio.run(module.run(runs=args.runs)), flush=True)


if __name__ == "__main__":
    main()
