"""Vote presses, recorded in batches.

A poll's busiest minute is everyone pressing at once. Each press is checked and recorded
with the same rules as ever (eligibility, one vote per household, the choice toggled, the
ballot chained into the log, points), but the presses that arrive while one batch is being
written make up the next one, and a batch costs a handful of statements whatever its size.
The batch also takes its updates out of the inbox (bot/inbox.py) in the same transaction,
so a press is never recorded without being marked handled, nor the other way round.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.households import Household
from bot.domain.methods import OBJECT, valid_ballot
from bot.domain.models import Community
from bot.domain.points import Action
from bot.domain.polls import Audience, Method, Poll, PollStatus, eligibility, next_choice
from bot.points import award_many
from storage import Connection, inbox, residents
from storage import polls as store

log = logging.getLogger(__name__)

# Presses written in one transaction at most (a full getUpdates batch).
BATCH = 100


def pseudonym(poll_key: str, label: str) -> str:
    return hmac.new(bytes.fromhex(poll_key), label.encode(), hashlib.sha256).hexdigest()[:32]


def voter_key(poll: Poll, user_id: int, poll_key: str | None, salt: str = "") -> str:
    """Public: a hash of the user under their own salt (forgetting them deletes the salt,
    and the vote log keeps verifying without leading to them). Secret: an HMAC of the
    user under the poll's key, which is destroyed at closing, after which no ballot can be
    traced to anyone."""
    if not poll.secret:
        if not salt:
            raise RuntimeError("a public ballot needs the voter's salt")
        return "v:" + hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()[:32]
    if poll_key is None:
        raise RuntimeError("a secret poll without its key is closed")
    return "s:" + pseudonym(poll_key, f"u:{user_id}")


@dataclass(frozen=True)
class Press:
    poll_id: int
    option: int
    user_id: int
    chat_id: int | None  # where the button was pressed
    update_id: int | None = None
    is_member: bool = True  # in the group now (asked of Telegram for "anyone in the group")
    # A whole ballot entered in private (a method other than one choice): the ballot, or
    # () to withdraw it; ``option`` is then unused. An objection carries its reason.
    ballot: tuple[int, ...] | None = None
    reason: str | None = None


@dataclass
class Recorded:
    """What became of a press. ``outcome``: "ok", "stale", "closed" or a Refusal."""

    outcome: Any
    poll: Poll | None = None
    language: str | None = None  # the presser's chosen language, if they chose one
    before: list[int] | None = None
    choice: list[int] | None = None
    units: tuple[str, ...] = ()  # the households the ballot speaks for (3-1-101, ...)
    refused_unit: str | None = None  # the household a refusal is about
    receipt: str | None = None  # the vote log entry's hash, shortened (/audit P-n RECEIPT)
    _cast: int | None = None  # where its last entry is in the batch's casts


RECEIPT_LENGTH = 12


def unit_key(unit_id: int) -> str:
    """The ballot of a household, in a poll that counts households: one per unit, whoever
    cast it (a member online, or a moderator from a paper ballot)."""
    return f"unit:{unit_id}"


def household_ballot_key(poll: Poll, unit_id: int, poll_key: str | None) -> str:
    """A household's ballot: its unit, or in a secret poll a keyed pseudonym of it."""
    if not poll.secret:
        return unit_key(unit_id)
    if poll_key is None:
        raise RuntimeError("a secret poll without its key is closed")
    return "s:" + pseudonym(poll_key, f"unit:{unit_id}")


@dataclass
class _PollBatch:
    """What one poll's presses in a batch need, read once."""

    poll: Poll
    community: Community
    poll_key: str | None
    mine: dict[int, list[Household]] = field(default_factory=dict)
    voters: dict[int, int | None] = field(default_factory=dict)  # unit -> who voted for it
    ballots: dict[str, list[int]] = field(default_factory=dict)
    casts: list[store.Cast] = field(default_factory=list)
    took_part: list[tuple[int, int | None, bool]] = field(default_factory=list)
    units_voted: list[tuple[int, int, bool]] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)  # user -> their ballot's key
    points: list[tuple[int, str]] = field(default_factory=list)
    objections: list[tuple[str, str | None]] = field(default_factory=list)  # key, reason


async def record(conn: Any, settings: Any, presses: list[Press],
                 now: datetime) -> list[Recorded]:
    """Check and record ``presses`` in order, in the caller's transaction."""
    found = await store.voting_on(conn, {p.poll_id for p in presses})
    polls = {poll_id: poll for poll_id, (poll, _c) in found.items()}
    public = {poll_id for poll_id, (poll, _c) in found.items() if not poll.secret}
    languages, salts = await store.pressers(
        conn, {p.user_id for p in presses},
        salted={p.user_id for p in presses if p.poll_id in public})
    batches: dict[int, _PollBatch] = {}
    for poll, community in found.values():
        if poll.status is not PollStatus.OPEN or now >= poll.deadline:
            continue
        poll_key = await store.key(conn, poll.id) if poll.secret else None
        users = {p.user_id for p in presses if p.poll_id == poll.id}
        batch = _PollBatch(poll, community, poll_key)
        batch.mine = await residents.households_of(conn, community.id, users)
        units = sorted({h.unit_id for hs in batch.mine.values() for h in hs})
        if poll.counts_units:
            # Who voted for each household matters only where households are counted.
            batch.voters = await store.household_voters(conn, poll.id, units)
            keys = [household_ballot_key(poll, u, poll_key) for u in units]
            batch.ballots = await store.ballots_of(conn, poll.id, keys)
        else:
            batch.keys = {user: voter_key(poll, user, poll_key, salts.get(user, ""))
                          for user in users}
            batch.ballots, legacy = await store.ballots_of_voters(conn, poll.id, batch.keys)
            batch.keys.update(legacy)
        batches[poll.id] = batch
    results = [_one(press, polls.get(press.poll_id), batches.get(press.poll_id), now)
               for press in presses]
    for batch in batches.values():
        receipts = await store.cast_many(conn, batch.poll.id, batch.casts,
                                         secret=batch.poll.secret)
        for result in results:
            if result.poll is batch.poll and result._cast is not None:
                result.receipt = receipts[result._cast][:RECEIPT_LENGTH]
        if batch.objections:
            await store.set_objections(conn, batch.poll.id, batch.objections,
                                       batch.poll.created_at if batch.poll.secret else now)
        await store.took_part_many(conn, batch.poll.id, batch.took_part, now)
        await store.units_voted_many(conn, batch.poll.id, batch.units_voted)
        if not batch.poll.secret:
            # A secret poll's points are given at its close, all at once (lifecycle.py):
            # a ledger row per press would date each person's ballot.
            await award_many(conn, settings.points, batch.community, acts=batch.points,
                             action=Action.VOTE, now=now)
    for result, press in zip(results, presses, strict=True):
        result.language = languages.get(press.user_id)
    return results


async def refusal_of(conn: Any, poll: Poll, user_id: int, *,
                     is_member: bool) -> tuple[Any, str | None] | None:
    """What the desk would answer ``user_id``'s ballot now, asked before they fill in a
    form: None if they may vote, else the refusal and the unit it is about (the desk
    checks again at the cast, when it counts)."""
    mine = (await residents.households_of(conn, poll.community_id, {user_id})).get(
        user_id, [])
    voters = await store.household_voters(conn, poll.id, sorted({h.unit_id for h in mine}))
    allowed = eligibility(poll.audience, poll.scope, user_id=user_id, is_member=is_member,
                          households=mine, household_voters=voters,
                          counts_units=poll.counts_units)
    if allowed.allowed:
        return None
    codes = {h.unit_id: h.address.code for h in mine}
    return allowed.refusal, codes.get(allowed.refused_unit or 0)


def _one(press: Press, poll: Poll | None, batch: _PollBatch | None,
         now: datetime) -> Recorded:
    """One press against the batch's picture of the poll, which it then updates."""
    if poll is None or press.option >= len(poll.options):
        return Recorded("stale", poll)
    if batch is None:  # no longer open (or its group is gone)
        return Recorded("closed" if poll.status is not PollStatus.OPEN or now >= poll.deadline
                        else "stale", poll)
    if not _from_its_place(press, poll, batch):
        return Recorded("stale", poll)
    user = press.user_id
    allowed = eligibility(poll.audience, poll.scope, user_id=user, is_member=press.is_member,
                          households=batch.mine.get(user, []), household_voters=batch.voters,
                          counts_units=poll.counts_units)
    codes = {h.unit_id: h.address.code for h in batch.mine.get(user, [])}
    if not allowed.allowed:
        return Recorded(allowed.refusal, poll, refused_unit=codes.get(
            allowed.refused_unit or 0))
    if allowed.unit_ids:
        done = _for_households(press, poll, batch, allowed.unit_ids, now)
        done.units = tuple(codes[u] for u in allowed.unit_ids)
        return done
    key = batch.keys[user]
    before = batch.ballots.get(key)
    choice = _choice(press, poll, before)
    _objection(press, poll, batch, key, before, choice)
    # A secret ballot is dated by the poll's opening, not the press: nothing to match.
    at = poll.created_at if poll.secret else now
    done = Recorded("ok", poll, before=before, choice=choice)
    if choice == [] and before:
        done._cast = len(batch.casts)
        batch.casts.append(store.Cast(voter_key=key, choice=[], at=at))
        batch.ballots.pop(key, None)
        if poll.secret:
            batch.took_part.append((user, None, False))
    elif choice is not None and choice != before:
        done._cast = len(batch.casts)
        # A secret ballot names nobody: no user, no unit, only a keyed pseudonym. A public
        # one notes the voter's unit for the minutes.
        home = None if poll.secret else next(
            (h.unit_id for h in batch.mine.get(user, []) if poll.scope.covers(h)), None)
        batch.casts.append(store.Cast(voter_key=key, choice=choice, at=at,
                                      user_id=None if poll.secret else user, unit_id=home))
        batch.ballots[key] = choice
        if poll.secret:
            batch.took_part.append((user, None, True))
        batch.points.append((user, f"poll:{poll.id}"))
    return done


def _from_its_place(press: Press, poll: Poll, batch: _PollBatch) -> bool:
    """A button under the group's post for one choice; a whole ballot, of a method that
    takes one, from the voter's private chat, and complete (the data is the client's)."""
    if press.ballot is None:
        return poll.method is Method.CHOICE and press.chat_id == batch.community.chat_id
    return poll.method is not Method.CHOICE and press.chat_id == press.user_id and (
        press.ballot == () or valid_ballot(poll.method, press.ballot,
                                           options=len(poll.options), dots=poll.max_choices))


def _choice(press: Press, poll: Poll, before: list[int] | None) -> list[int] | None:
    if press.ballot is not None:
        return list(press.ballot)
    return next_choice(poll, before, press.option)


def _objection(press: Press, poll: Poll, batch: _PollBatch, key: str,
               before: list[int] | None, choice: list[int] | None) -> None:
    """A consent poll's objection keeps its reason (by the ballot's key); consenting or
    withdrawing takes it back."""
    if poll.method is not Method.CONSENT or choice is None:
        return
    if choice == [OBJECT]:
        batch.objections.append((key, press.reason or ""))
    elif before == [OBJECT]:
        batch.objections.append((key, None))


def _for_households(press: Press, poll: Poll, batch: _PollBatch, units: tuple[int, ...],
                    now: datetime) -> Recorded:
    """A ballot in a poll that counts households: it speaks for each of ``units`` (every
    unit of the presser's that nobody else voted for), one ballot per unit. In a secret
    poll the ballot names its unit only by a keyed pseudonym; that the household took part,
    and through whom, is public (storage.polls.units_voted_many)."""
    user = press.user_id
    keys = {u: household_ballot_key(poll, u, batch.poll_key) for u in units}
    before = next((batch.ballots[keys[u]] for u in units if keys[u] in batch.ballots), None)
    choice = _choice(press, poll, before)
    _objection(press, poll, batch, keys[units[0]], before, choice)
    done = Recorded("ok", poll, before=before, choice=choice)
    if choice is None or all(batch.ballots.get(keys[u]) == choice for u in units):
        return done
    at = poll.created_at if poll.secret else now  # a secret ballot is not dated by its press
    for unit in units:
        key = keys[unit]
        if choice:
            batch.casts.append(store.Cast(
                voter_key=key, choice=choice, at=at,
                user_id=None if poll.secret else user, unit_id=None if poll.secret else unit,
                unit_key=("k:" + pseudonym(batch.poll_key or "", f"unit:{unit}"))
                if poll.secret else None))
            batch.ballots[key] = choice
            batch.voters[unit] = user
            if poll.secret:
                batch.units_voted.append((unit, user, True))
        elif key in batch.ballots:
            batch.casts.append(store.Cast(voter_key=key, choice=[], at=at,
                                          unit_id=None if poll.secret else unit))
            batch.ballots.pop(key)
            batch.voters.pop(unit, None)
            if poll.secret:
                batch.units_voted.append((unit, user, False))
    done._cast = len(batch.casts) - 1
    if poll.secret:
        batch.took_part.append((user, None, bool(choice)))
    if choice:
        batch.points.append((user, f"poll:{poll.id}"))
    return done


class VoteDesk:
    """Takes presses from the handlers and writes them in batches, one batch at a time."""

    def __init__(self, services: Any) -> None:
        self._services = services
        self._waiting: list[tuple[Press, asyncio.Future[Recorded]]] = []
        self._writer: asyncio.Task[None] | None = None
        # One batch written at a time, in the order they came: the presses queued here,
        # and those recorded on arrival (:meth:`record_now`).
        self._writing = asyncio.Lock()
        # Poll -> whether its voters must be in the group now ("anyone in the group"):
        # settled at creation, so asked of the database once per poll.
        # Whether a poll asks Telegram who is in the group, read once per poll: the first
        # press of a burst reads it and the rest wait for that read, not a read each.
        self._members_only: dict[int, asyncio.Future[bool]] = {}

    async def members_only(self, poll_id: int) -> bool:
        known = self._members_only.get(poll_id)
        if known is None:
            known = self._members_only[poll_id] = asyncio.ensure_future(
                self._read_members_only(poll_id))
            known.add_done_callback(self._forget_failed(poll_id))
        return await asyncio.shield(known)

    async def _read_members_only(self, poll_id: int) -> bool:
        async with self._services.db.transaction() as conn:
            poll = await store.get(conn, poll_id)
        return poll is not None and poll.audience is Audience.MEMBERS and not poll.counts_units

    def _forget_failed(self, poll_id: int) -> Any:
        def forget(read: asyncio.Future[bool]) -> None:
            if read.cancelled() or read.exception() is not None:
                self._members_only.pop(poll_id, None)  # read again by the next press
        return forget

    async def press(self, press: Press) -> Recorded:
        done: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._waiting.append((press, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await done

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            try:
                results = await self._record([p for p, _done in batch])
            except Exception:
                # One bad press must not sink the others: each alone, in its own transaction.
                log.exception("a batch of votes failed; recording them one by one",
                              extra={"count": len(batch)})
                for press, done in batch:
                    try:
                        (result,) = await self._record([press])
                    except Exception as exc:
                        if not done.done():
                            done.set_exception(exc)
                    else:
                        if not done.done():
                            done.set_result(result)
                continue
            for (_press, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)

    async def _record(self, presses: list[Press]) -> list[Recorded]:
        services = self._services
        handled = [p.update_id for p in presses if p.update_id is not None]

        async def write(conn: Connection) -> list[Recorded]:
            results = await record(conn, services.settings, presses, services.clock.now())
            await inbox.done(conn, handled)
            return results

        # A batch PostgreSQL ends to break a deadlock is written again, whole (as one
        # recorded on arrival is, below).
        async with self._writing:
            results = await services.db.retrying(write)
        services.inbox.cleared.update(handled)
        return results

    async def record_now(self, presses: list[Press],
                         write_also: Callable[[Connection], Awaitable[None]]) -> list[Recorded]:
        """Record ``presses`` that were never written to the inbox, with ``write_also``
        (the rest of their batch, written down) in the same transaction: a press arriving
        while its batch is fetched (bot/inbox.py). All or nothing."""
        services = self._services

        async def write(conn: Connection) -> list[Recorded]:
            results = await record(conn, services.settings, presses, services.clock.now())
            await write_also(conn)
            return results

        async with self._writing:
            return await services.db.retrying(write)
