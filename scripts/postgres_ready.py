"""Exit 0 if the PostgreSQL server named by YISHI_TEST_POSTGRES answers, 1 otherwise (with
the reason on stderr). Used by .ci/run to decide whether the PostgreSQL run happens."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage.postgres import reachable, shown  # noqa: E402


def main() -> int:
    url = os.environ.get("YISHI_TEST_POSTGRES", "")
    if not url:
        print("YISHI_TEST_POSTGRES is not set", file=sys.stderr)
        return 1
    try:
        asyncio.run(reachable(url))
    except Exception as exc:  # any failure to connect means: not ready
        print(f"PostgreSQL at {shown(url)} does not answer: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
