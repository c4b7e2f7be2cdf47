"""An append-only hash chain: each entry carries the hash of the one before, so a changed,
removed or reordered entry breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode()).hexdigest()


class Link(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int
    entry: dict[str, Any]
    prev_hash: str
    hash: str


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    intact: bool
    entries: int
    broken_at: int | None = None  # the first sequence number that does not verify


def verify(links: Sequence[Link]) -> Check:
    previous = GENESIS
    for expected_seq, item in enumerate(links, start=1):
        if item.seq != expected_seq or item.prev_hash != previous \
                or link(previous, item.entry) != item.hash:
            return Check(intact=False, entries=len(links), broken_at=expected_seq)
        previous = item.hash
    return Check(intact=True, entries=len(links))


def replay(entries: Iterable[dict[str, Any]]) -> dict[str, list[int]]:
    """The ballots the log adds up to: each voter's last recorded choice."""
    final: dict[str, list[int]] = {}
    for entry in entries:
        if entry["choice"]:
            final[entry["voter"]] = list(entry["choice"])
        else:
            final.pop(entry["voter"], None)  # withdrawn
    return final
