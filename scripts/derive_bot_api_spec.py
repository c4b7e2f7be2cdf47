"""Derive the Bot API facts the fake server checks from the upstream machine-readable spec.

Run from the repository root with the spec beside it:

    python scripts/derive_bot_api_spec.py ../shared/telegram-bot-api/api.json

It keeps only facts (method and parameter names, their types and required flags, return
types, and the fields of types) and writes them to bot/fakeapi/bot_api_spec.json,
which is committed: a user's clone has no ../shared.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bot" / "fakeapi" / "bot_api_spec.json"


def _fields(entries: list[dict]) -> dict[str, dict]:
    return {
        f["name"]: {"types": f["types"], "required": bool(f.get("required", False))}
        for f in entries
    }


def derive(spec: dict) -> dict:
    return {
        "version": spec["version"],
        "methods": {
            name: {"params": _fields(m.get("fields", [])), "returns": m.get("returns", [])}
            for name, m in sorted(spec["methods"].items())
        },
        "types": {
            name: {"fields": _fields(t.get("fields", [])), "subtypes": t.get("subtypes", [])}
            for name, t in sorted(spec["types"].items())
        },
    }


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/telegram-bot-api/api.json")
    derived = derive(json.loads(source.read_text(encoding="utf-8")))
    OUT.write_text(json.dumps(derived, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(derived['methods'])} methods, {len(derived['types'])} types)")


if __name__ == "__main__":
    main()
