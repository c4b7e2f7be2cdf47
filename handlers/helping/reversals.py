"""Moderators undo what the time bank recorded, each in one transaction that refuses the
whole reversal if any of it cannot be done: a piece of help taken back (its credits, what
the person helped paid, its points), or a transfer within a household reversed. Both
sides are told the reason."""


from __future__ import annotations

import html
from datetime import datetime

from bot.domain.helping import (
    EntryKind,
    Help,
    HelpStatus,
    shown,
)
from bot.domain.models import Community, Outgoing
from bot.domain.points import Action
from bot.points import revoke
from bot.services import Services
from handlers import outgoing
from handlers.helping.lifecycle import refresh
from storage import Connection, audit, outbox
from storage import helping as store


async def take_back(conn: Connection, services: Services, community: Community,
                    number: int, moderator_id: int, reason: str, now: datetime
                    ) -> tuple[str | None, Help | None, int]:
    """A moderator reverses a confirmed piece of help: every entry it made is reversed (the
    helper's deposit, a payment), its points are taken back, and both are told why.
    Refused whole if the helper has spent the credits since. Returns the code, the help
    and the credits taken back."""
    found = await store.by_number(conn, community.id, number)
    if found is None:
        return "gone", None, 0
    if found.status is not HelpStatus.DONE:
        return "not_done", found, 0
    entries = await store.entries_for(conn, community.id, found.ref)
    reversed_ids = {e.reverses for e in entries if e.reverses is not None}
    taken = 0
    for entry in entries:
        if entry.kind is EntryKind.REVERSAL or entry.id in reversed_ids:
            continue
        try:
            await store.enter(conn, community_id=community.id, user_id=entry.user_id,
                              kind=EntryKind.REVERSAL, amount=-entry.amount, ref=found.ref,
                              reason=reason, reverses=entry.id, by=moderator_id, now=now)
        except store.Overdrawn:
            return "spent", found, 0
        if entry.kind is EntryKind.DEPOSIT:
            taken += entry.amount
    await store.change(conn, found.id, now, expected={HelpStatus.DONE},
                       status=HelpStatus.REVERSED)
    assert found.helper_id is not None
    points = await revoke(conn, community, user_id=found.helper_id,
                          action=Action.NEIGHBOUR_HELP, ref=found.ref, by=moderator_id, now=now)
    await audit.record(conn, community_id=community.id, actor_id=moderator_id,
                       action="help.reverse", at=now,
                       details={"help": found.ref, "credits": taken, "points": points,
                                "reason": reason})
    told: list[Outgoing] = await outgoing.to_people(
        conn, [found.helper_id], f"help:{found.id}:reversed", services.default_language,
        lambda _: _("The moderators of {group} took back {ref}: {credits} credits and "
                    "{points} points. Their reason: {reason}").format(
            group=html.escape(community.title), ref=found.ref, credits=shown(taken),
            points=points, reason=html.escape(reason)))
    if found.helped_id is not None:
        told += await outgoing.to_people(
            conn, [found.helped_id], f"help:{found.id}:reversed", services.default_language,
            lambda _: _("The moderators of {group} took back {ref}; anything you paid for it "
                        "is back in your time bank. Their reason: {reason}").format(
                group=html.escape(community.title), ref=found.ref,
                reason=html.escape(reason)))
    await outbox.queue(conn, told, now)
    done = await store.get(conn, found.id)
    await refresh(conn, done or found, now)
    return None, done, taken


async def take_back_transfer(conn: Connection, services: Services, community: Community,
                             transfer_id: int, moderator_id: int, reason: str, now: datetime
                             ) -> tuple[str | None, int]:
    """A moderator reverses a transfer within a household (T-3): the credits go back to the
    giver, both told why; refused whole if the receiver has spent them since."""
    ref = f"T-{transfer_id}"
    entries = await store.entries_for(conn, community.id, ref)
    if any(e.kind is EntryKind.REVERSAL for e in entries):
        return "reversed", 0
    moved = [e for e in entries if e.kind in (EntryKind.TRANSFER_IN, EntryKind.TRANSFER_OUT)]
    if not moved:
        return "gone", 0
    # The receiver's entry first: if they have spent the credits, nothing moves.
    for entry in sorted(moved, key=lambda e: e.kind is not EntryKind.TRANSFER_IN):
        try:
            await store.enter(conn, community_id=community.id, user_id=entry.user_id,
                              kind=EntryKind.REVERSAL, amount=-entry.amount, ref=ref,
                              reason=reason, reverses=entry.id, by=moderator_id, now=now)
        except store.Overdrawn:
            return "spent", 0
    amount = max(e.amount for e in moved)
    await audit.record(conn, community_id=community.id, actor_id=moderator_id,
                       action="timebank.transfer_reverse", at=now,
                       details={"transfer": ref, "credits": amount, "reason": reason})
    await outbox.queue(conn, await outgoing.to_people(
        conn, [e.user_id for e in moved], f"transfer:{transfer_id}:reversed",
        services.default_language,
        lambda _: _("The moderators of {group} reversed the transfer {ref} of {credits} "
                    "credits. Their reason: {reason}").format(
            group=html.escape(community.title), ref=ref, credits=shown(amount),
            reason=html.escape(reason))), now)
    return None, amount
