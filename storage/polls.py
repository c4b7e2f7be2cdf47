"""Polls, their ballots and the vote log. Casting a vote writes the ballot and its log
entry in the caller's transaction, so a vote is never counted without being logged."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    LABEL_STYLE_TABLENAME_PLUS_COL,
    String,
    and_,
    delete,
    func,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.chain import GENESIS, Link, link
from bot.domain.models import Community
from bot.domain.polls import Ballot, Poll, PollStatus
from storage.communities import from_row as community_row
from storage.database import first_row
from storage.schema import (
    ballot_voids,
    ballots,
    communities,
    people,
    poll_keys,
    poll_log,
    poll_objections,
    poll_participants,
    poll_unit_voters,
    polls,
    voter_salts,
)
from storage.upsert import upsert_many


def _poll(row: RowMapping) -> Poll:
    return Poll(**{name: row[name] for name in Poll.model_fields})


async def create(conn: AsyncConnection, *, community_id: int, now: datetime,
                 status: PollStatus = PollStatus.OPEN, **fields: Any) -> Poll:
    """A new poll: open at once, or announced (NOTICE) with voting opening at opens_at."""
    number = (await conn.execute(select(func.coalesce(func.max(polls.c.number), 0))
                                 .where(polls.c.community_id == community_id))).scalar_one() + 1
    result = await conn.execute(polls.insert().values(
        community_id=community_id, number=number, status=status.value,
        created_at=now, **fields))
    created = await get(conn, result.inserted_primary_key[0])
    assert created is not None
    return created


async def get(conn: AsyncConnection, poll_id: int, *, lock: bool = False) -> Poll | None:
    """The poll; with ``lock``, held against votes until the transaction ends (a close
    counts under it, so no ballot lands between the count and the result)."""
    row = await first_row(conn, select(polls).where(polls.c.id == poll_id), lock=lock)
    return _poll(row) if row else None


async def get_many(conn: AsyncConnection, poll_ids: Collection[int]) -> dict[int, Poll]:
    rows = await conn.execute(select(polls).where(polls.c.id.in_(list(poll_ids))))
    return {row["id"]: _poll(row) for row in rows.mappings()}


async def voting_on(conn: AsyncConnection,
                    poll_ids: Collection[int]) -> dict[int, tuple[Poll, Community]]:
    """The polls a batch of votes is for, each with its community, in one statement.

    Each poll's row is held until the transaction ends. On PostgreSQL a close, or the
    post's recording, waits for a batch in progress, and a batch for them, so a poll's
    state is never read across one; and two batches of one poll (its buttons in the group
    and ballots from private chats, perhaps on two instances) go one after the other, as
    its vote log is a chain. SQLite writes one transaction at a time anyway."""
    query = (select(polls, communities).join(communities,
                                             communities.c.id == polls.c.community_id)
             .where(polls.c.id.in_(sorted(poll_ids)))
             .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
             .with_for_update(of=polls, key_share=True))
    found = {}
    for row in (await conn.execute(query)).mappings():
        poll = _poll({c.name: row[f"polls_{c.name}"] for c in polls.c})
        found[poll.id] = (poll, community_row({c.name: row[f"communities_{c.name}"]
                                               for c in communities.c}))
    return found


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Poll | None:
    row = (await conn.execute(select(polls).where(
        polls.c.community_id == community_id, polls.c.number == number))).mappings().first()
    return _poll(row) if row else None


async def amended_by(conn: AsyncConnection, poll_id: int) -> Poll | None:
    """The poll that asks again with the amended proposal of ``poll_id``, if any."""
    row = (await conn.execute(select(polls).where(polls.c.amends == poll_id)
                              .order_by(polls.c.id).limit(1))).mappings().first()
    return _poll(row) if row else None


async def recent(conn: AsyncConnection, community_id: int, limit: int = 10) -> list[Poll]:
    rows = await conn.execute(select(polls).where(polls.c.community_id == community_id)
                              .order_by(polls.c.number.desc()).limit(limit))
    return [_poll(row) for row in rows.mappings()]


async def set_post(conn: AsyncConnection, poll_id: int, chat_id: int, message_id: int,
                   digest: str) -> None:
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(
        post_chat_id=chat_id, post_message_id=message_id, post_digest=digest))


async def swap_post_digest(conn: AsyncConnection, poll_id: int, digest: str) -> bool:
    """Record what the post will show; False if it already shows exactly that."""
    result = await conn.execute(update(polls).where(
        polls.c.id == poll_id, (polls.c.post_digest != digest) | polls.c.post_digest.is_(None))
        .values(post_digest=digest))
    return result.rowcount > 0


async def finish(conn: AsyncConnection, poll_id: int, status: PollStatus, now: datetime, *,
                 result: dict[str, Any] | None = None, reason: str | None = None) -> bool:
    """Close or cancel an open (or announced) poll; False if it was no longer open (closes
    once)."""
    outcome = await conn.execute(update(polls).where(
        polls.c.id == poll_id,
        polls.c.status.in_([PollStatus.OPEN.value, PollStatus.NOTICE.value])).values(
        status=status.value, closed_at=now, result=result, reason=reason))
    return outcome.rowcount > 0


async def open_voting(conn: AsyncConnection, poll_id: int) -> bool:
    """The notice period is over: voting opens. False if it was not announced (opened
    already, or cancelled)."""
    outcome = await conn.execute(update(polls).where(
        polls.c.id == poll_id, polls.c.status == PollStatus.NOTICE.value).values(
        status=PollStatus.OPEN.value))
    return outcome.rowcount > 0


async def set_deadline(conn: AsyncConnection, poll_id: int, deadline: datetime) -> None:
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(deadline=deadline))


# --- ballots and the log --------------------------------------------------------------------


async def ballots_of(conn: AsyncConnection, poll_id: int,
                     voter_keys: Collection[str]) -> dict[str, list[int]]:
    """Each voter's current choice, for those who have a ballot."""
    rows = await conn.execute(select(ballots.c.voter_key, ballots.c.choice).where(
        ballots.c.poll_id == poll_id, ballots.c.voter_key.in_(list(voter_keys))))
    return {key: list(choice) for key, choice in rows}


async def cast(conn: AsyncConnection, *, poll_id: int, voter_key: str, user_id: int | None,
               unit_id: int | None, choice: list[int], proxy_by: int | None,
               now: datetime, unit_key: str | None = None) -> None:
    """Record (or change) a ballot and append it to the poll's hash chain."""
    await cast_many(conn, poll_id, [Cast(voter_key=voter_key, user_id=user_id,
                                         unit_id=unit_id, unit_key=unit_key, choice=choice,
                                         proxy_by=proxy_by, at=now)])


async def withdraw(conn: AsyncConnection, *, poll_id: int, voter_key: str,
                   now: datetime) -> None:
    """Remove a ballot (a multiple choice emptied) and log that it was withdrawn."""
    await cast_many(conn, poll_id, [Cast(voter_key=voter_key, choice=[], at=now)])


@dataclass(frozen=True)
class Cast:
    """One ballot as pressed: an empty choice withdraws the voter's ballot."""

    voter_key: str
    choice: list[int]
    at: datetime
    user_id: int | None = None
    unit_id: int | None = None
    unit_key: str | None = None
    proxy_by: int | None = None
    signed_by: str | None = None  # a paper ballot: who signed it
    void: str | None = None  # a moderator voided the ballot: why


async def cast_many(conn: AsyncConnection, poll_id: int, casts: Sequence[Cast], *,
                    secret: bool = False) -> list[str]:
    """Record ballots (and withdrawals) in order, each appended to the poll's hash chain:
    a few statements however many there are. Returns each entry's hash (its receipt).

    A secret ballot's log entry carries no time, and its row the poll's opening time
    (``Cast.at``, chosen by the caller), so that nothing matches a press to a person."""
    if not casts:
        return []
    final = {c.voter_key: c for c in casts}  # a voter's last press is what stands
    await upsert_many(conn, ballots, [
        {"poll_id": poll_id, "voter_key": c.voter_key, "user_id": c.user_id,
         "unit_id": c.unit_id, "unit_key": c.unit_key, "choice": c.choice,
         "proxy_by": c.proxy_by, "signed_by": c.signed_by, "at": c.at}
        for c in final.values() if c.choice],
        conflict=["poll_id", "voter_key"],
        update=["user_id", "unit_id", "unit_key", "choice", "proxy_by", "signed_by", "at"])
    gone = [c.voter_key for c in final.values() if not c.choice]
    if gone:
        await conn.execute(ballots.delete().where(ballots.c.poll_id == poll_id,
                                                  ballots.c.voter_key.in_(gone)))
    entries: list[dict[str, Any]] = []
    for c in casts:
        # Who entered a paper ballot is in the audit log, not here: the log names nobody.
        entry: dict[str, Any] = {"voter": c.voter_key,
                                 "unit": c.unit_id if c.unit_key is None else c.unit_key,
                                 "choice": c.choice, "paper": c.proxy_by is not None}
        if c.signed_by is not None:
            entry["signed_by"] = c.signed_by
        if c.void is not None:
            entry["void"] = c.void
        if not secret:
            entry["at"] = c.at.isoformat()
        entries.append(entry)
    return await _append(conn, poll_id, entries)


async def void(conn: AsyncConnection, poll_id: int, *, voter_key: str, by: int, reason: str,
               now: datetime) -> dict[str, Any] | None:
    """A moderator voids a ballot, with a reason: it leaves the count, the log says so and
    the minutes list it. None if there was no such ballot."""
    row = (await conn.execute(select(ballots).where(
        ballots.c.poll_id == poll_id, ballots.c.voter_key == voter_key))).mappings().first()
    if row is None:
        return None
    await conn.execute(ballot_voids.insert().values(
        poll_id=poll_id, unit_id=row["unit_id"], choice=row["choice"],
        signed_by=row["signed_by"], paper=row["proxy_by"] is not None, voided_by=by,
        reason=reason, at=now))
    await cast_many(conn, poll_id, [Cast(voter_key=voter_key, choice=[], at=now,
                                         unit_id=row["unit_id"], void=reason)])
    return dict(row)


async def voids(conn: AsyncConnection, poll_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(ballot_voids).where(ballot_voids.c.poll_id == poll_id)
                              .order_by(ballot_voids.c.id))
    return [dict(row) for row in rows.mappings()]


async def ballot_of_unit(conn: AsyncConnection, poll_id: int,
                         unit_id: int) -> dict[str, Any] | None:
    """What stands for a unit (its own or a paper ballot), if anything."""
    row = (await conn.execute(select(ballots).where(
        ballots.c.poll_id == poll_id, ballots.c.unit_id == unit_id)
        .order_by(ballots.c.at.desc()).limit(1))).mappings().first()
    return dict(row) if row else None


async def set_head(conn: AsyncConnection, poll_id: int, head: str, entries: int) -> None:
    """The chain's head as it is about to be posted in the group."""
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(
        head_hash=head, head_entries=entries))


async def head_posted(conn: AsyncConnection, poll_id: int, chat_id: int,
                      message_id: int) -> None:
    await conn.execute(update(polls).where(polls.c.id == poll_id).values(
        head_chat_id=chat_id, head_message_id=message_id))


async def _append(conn: AsyncConnection, poll_id: int,
                  entries: list[dict[str, Any]]) -> list[str]:
    last = (await conn.execute(select(poll_log.c.seq, poll_log.c.hash).where(
        poll_log.c.poll_id == poll_id).order_by(poll_log.c.seq.desc()).limit(1))).first()
    seq, previous = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for entry in entries:
        seq += 1
        entry = {"seq": seq, **entry}
        digest = link(previous, entry)
        rows.append({"poll_id": poll_id, "seq": seq, "entry": entry, "prev_hash": previous,
                     "hash": digest})
        previous = digest
    await conn.execute(poll_log.insert(), rows)
    return [row["hash"] for row in rows]


async def counted(conn: AsyncConnection, poll_id: int) -> list[Ballot]:
    """The ballots that count: one per unit where the poll counts units. (A poll from
    before one-ballot-per-unit may hold a household's own vote beside a proxy entry for
    it: the own vote counts.)"""
    rows = (await conn.execute(select(ballots).where(ballots.c.poll_id == poll_id)
                               .order_by(ballots.c.at))).mappings().all()
    own_units = {r["unit_id"] for r in rows if r["proxy_by"] is None and r["unit_id"]}
    return [Ballot(choice=tuple(r["choice"]), unit_id=r["unit_id"], unit_key=r["unit_key"])
            for r in rows if r["proxy_by"] is None or r["unit_id"] not in own_units]


async def ballot_rows(conn: AsyncConnection, poll_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(select(ballots).where(ballots.c.poll_id == poll_id)
                              .order_by(ballots.c.at))
    return [dict(row) for row in rows.mappings()]


async def household_voters(conn: AsyncConnection, poll_id: int,
                           unit_ids: list[int] | None = None) -> dict[int, int | None]:
    """Unit → the person who voted for it, or None (bot.domain.polls.PAPER) for a paper
    ballot entered by a moderator (for a secret poll, from who took part, which is public,
    never from the ballots). With ``unit_ids``, only those units are looked up."""
    query = select(ballots.c.unit_id, ballots.c.user_id, ballots.c.proxy_by).where(
        ballots.c.poll_id == poll_id, ballots.c.unit_id.is_not(None))
    took_query = select(poll_unit_voters.c.unit_id, poll_unit_voters.c.user_id).where(
        poll_unit_voters.c.poll_id == poll_id)
    if unit_ids is not None:
        query = query.where(ballots.c.unit_id.in_(unit_ids))
        took_query = took_query.where(poll_unit_voters.c.unit_id.in_(unit_ids))
    rows = (await conn.execute(query)).all()
    found: dict[int, int | None] = {int(unit): None for unit, _user, proxy in rows
                                    if proxy is not None}
    # A household's own vote stands over an old proxy entry (polls from before 0011).
    found.update({int(unit): int(user) for unit, user, proxy in rows
                  if proxy is None and user is not None})
    took = await conn.execute(took_query)
    found.update({int(unit): int(user) for unit, user in took})
    return found


async def voters(conn: AsyncConnection, poll_id: int) -> set[int]:
    """Everyone who voted: named on their ballot, or (secret polls) as a participant."""
    rows = await conn.execute(select(ballots.c.user_id).where(
        ballots.c.poll_id == poll_id, ballots.c.user_id.is_not(None)))
    return {int(user) for (user,) in rows} | set(await participants(conn, poll_id))


async def chain(conn: AsyncConnection, poll_id: int) -> list[Link]:
    rows = await conn.execute(select(poll_log).where(poll_log.c.poll_id == poll_id)
                              .order_by(poll_log.c.seq))
    return [Link(seq=r["seq"], entry=r["entry"], prev_hash=r["prev_hash"], hash=r["hash"])
            for r in rows.mappings()]


# --- secret polls ---------------------------------------------------------------------------


async def set_key(conn: AsyncConnection, poll_id: int, key: str) -> None:
    await conn.execute(poll_keys.insert().values(poll_id=poll_id, key=key))


async def key(conn: AsyncConnection, poll_id: int) -> str | None:
    row = (await conn.execute(select(poll_keys.c.key).where(poll_keys.c.poll_id == poll_id))
           ).first()
    return row[0] if row else None


async def destroy_key(conn: AsyncConnection, poll_id: int) -> None:
    await conn.execute(poll_keys.delete().where(poll_keys.c.poll_id == poll_id))


async def took_part_many(conn: AsyncConnection, poll_id: int,
                         changes: Sequence[tuple[int, int | None, bool]],
                         now: datetime) -> None:
    """Record (or, withdrawn, forget) that people voted in a secret poll, and for which
    household if it counts households (taking part is public; the choice is not):
    (user, unit, yes) each."""
    # No time is written: it would match the ballot's press (ballots.py).
    await upsert_many(conn, poll_participants, [
        {"poll_id": poll_id, "user_id": user, "unit_id": unit, "at": None}
        for user, unit, yes in changes if yes], conflict=["poll_id", "user_id"],
        update=["unit_id"])
    left = [user for user, _unit, yes in changes if not yes]
    if left:
        await conn.execute(poll_participants.delete().where(
            poll_participants.c.poll_id == poll_id, poll_participants.c.user_id.in_(left)))


async def units_voted_many(conn: AsyncConnection, poll_id: int,
                           changes: Sequence[tuple[int, int, bool]]) -> None:
    """A secret poll that counts households: which household took part through whom
    (unit, user, yes) each; withdrawn (yes False), the unit is free again."""
    await upsert_many(conn, poll_unit_voters, [
        {"poll_id": poll_id, "unit_id": unit, "user_id": user}
        for unit, user, yes in changes if yes], conflict=["poll_id", "unit_id"],
        update=["user_id"])
    free = [unit for unit, _user, yes in changes if not yes]
    if free:
        await conn.execute(poll_unit_voters.delete().where(
            poll_unit_voters.c.poll_id == poll_id, poll_unit_voters.c.unit_id.in_(free)))


async def units_voted(conn: AsyncConnection, poll_id: int) -> list[int]:
    """The households that took part in a secret poll that counts them."""
    rows = await conn.execute(select(poll_unit_voters.c.unit_id).where(
        poll_unit_voters.c.poll_id == poll_id).order_by(poll_unit_voters.c.unit_id))
    return [int(unit) for (unit,) in rows]


async def participants(conn: AsyncConnection, poll_id: int) -> list[int]:
    rows = await conn.execute(select(poll_participants.c.user_id).where(
        poll_participants.c.poll_id == poll_id).order_by(poll_participants.c.user_id))
    return [int(user_id) for (user_id,) in rows]


async def salts(conn: AsyncConnection, users: Collection[int]) -> dict[int, str]:
    """Each person's voter salt, made the first time they vote."""
    return (await pressers(conn, (), salted=users))[1]


async def pressers(conn: AsyncConnection, users: Collection[int], *,
                 salted: Collection[int]) -> tuple[dict[int, str | None], dict[int, str]]:
    """What a batch of votes needs of the people pressing, read in one statement: the
    language each of ``users`` chose, where yishi knows them, and the voter salt of each of
    ``salted`` (made the first time they vote in a public poll)."""
    unset = sql_cast(null(), String)
    rows = await conn.execute(union_all(
        select(people.c.user_id, people.c.language, unset.label("salt"))
        .where(people.c.user_id.in_(list(users))),
        select(voter_salts.c.user_id, unset, voter_salts.c.salt)
        .where(voter_salts.c.user_id.in_(list(salted)))))
    languages: dict[int, str | None] = {}
    found: dict[int, str] = {}
    for user, language, salt in rows:
        if salt is None:
            languages[int(user)] = language
        else:
            found[int(user)] = salt
    missing = [user for user in salted if user not in found]
    if missing:
        # One statement: a salt made meanwhile by another writer is kept (the no-op
        # update), and what is stored comes back either way.
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(voter_salts)
        made = await conn.execute(
            statement.on_conflict_do_update(index_elements=["user_id"],
                                            set_={"salt": voter_salts.c.salt})
            .returning(voter_salts.c.user_id, voter_salts.c.salt),
            [{"user_id": user, "salt": secrets.token_hex(16)} for user in missing])
        found.update({int(user): salt for user, salt in made})
    return languages, found


async def ballots_of_voters(conn: AsyncConnection, poll_id: int, voter_keys: dict[int, str]
                            ) -> tuple[dict[str, list[int]], dict[int, str]]:
    """In one statement: the current choice of each ballot among ``voter_keys`` (user ->
    their ballot's key), and the key of any ballot a user cast before voters were salted
    ("u:<id>"), so a change replaces it. Returns (choice by key, legacy key by user)."""
    rows = await conn.execute(select(ballots.c.voter_key, ballots.c.choice, ballots.c.user_id)
                              .where(ballots.c.poll_id == poll_id, or_(
                                  ballots.c.voter_key.in_(list(voter_keys.values())),
                                  and_(ballots.c.user_id.in_(list(voter_keys)),
                                       ballots.c.voter_key.like("u:%")))))
    choices: dict[str, list[int]] = {}
    legacy: dict[int, str] = {}
    for key, choice, user in rows:
        choices[key] = list(choice)
        if key.startswith("u:") and user is not None and int(user) in voter_keys:
            legacy[int(user)] = key
    return choices, legacy


async def forget_voter(conn: AsyncConnection, user_id: int) -> None:
    """Someone asked to be forgotten: their ballots keep counting, but no longer name them;
    their record of taking part in secret polls goes."""
    await conn.execute(update(ballots).where(ballots.c.user_id == user_id)
                       .values(user_id=None))
    await conn.execute(update(ballots).where(ballots.c.proxy_by == user_id)
                       .values(proxy_by=0))  # still a paper ballot, entered by no one named
    await conn.execute(update(ballot_voids).where(ballot_voids.c.voided_by == user_id)
                       .values(voided_by=0))
    await conn.execute(voter_salts.delete().where(voter_salts.c.user_id == user_id))
    await conn.execute(poll_participants.delete().where(poll_participants.c.user_id == user_id))
    await conn.execute(poll_unit_voters.delete().where(poll_unit_voters.c.user_id == user_id))


async def polls_closed(conn: AsyncConnection, community_id: int, since: datetime,
                       until: datetime) -> list[Poll]:
    rows = await conn.execute(select(polls).where(
        polls.c.community_id == community_id, polls.c.status == PollStatus.CLOSED.value,
        polls.c.closed_at >= since, polls.c.closed_at < until).order_by(polls.c.number))
    return [_poll(row) for row in rows.mappings()]


async def polls_open(conn: AsyncConnection, community_id: int) -> list[Poll]:
    rows = await conn.execute(select(polls).where(
        polls.c.community_id == community_id, polls.c.status == PollStatus.OPEN.value)
        .order_by(polls.c.deadline))
    return [_poll(row) for row in rows.mappings()]


async def erase_order(conn: AsyncConnection, poll_id: int) -> None:
    """A secret poll closes: its ballots and its participants are written again, sorted
    by pseudonym and by person, so that the order rows were stored in (which follows the
    order of the presses) can no longer pair a participant with a ballot. With SQLite's
    secure_delete (storage/database.py) the old rows are overwritten, not left in free
    pages."""
    kept = (await conn.execute(select(ballots).where(ballots.c.poll_id == poll_id)
                               .order_by(ballots.c.voter_key))).mappings().all()
    took = (await conn.execute(select(poll_participants).where(
        poll_participants.c.poll_id == poll_id).order_by(poll_participants.c.user_id))
            ).mappings().all()
    homes = (await conn.execute(select(poll_unit_voters).where(
        poll_unit_voters.c.poll_id == poll_id).order_by(poll_unit_voters.c.unit_id))
             ).mappings().all()
    await conn.execute(ballots.delete().where(ballots.c.poll_id == poll_id))
    await conn.execute(poll_participants.delete().where(poll_participants.c.poll_id == poll_id))
    await conn.execute(poll_unit_voters.delete().where(poll_unit_voters.c.poll_id == poll_id))
    for table, rows in ((ballots, kept), (poll_participants, took), (poll_unit_voters, homes)):
        if rows:
            await conn.execute(table.insert(), [dict(row) for row in rows])


# --- consent polls -----------------------------------------------------------------------


async def set_objections(conn: AsyncConnection, poll_id: int,
                         changes: list[tuple[str, str | None]], at: datetime) -> None:
    """Keep (reason) or drop (None) each ballot's objection, in order."""
    for key, reason in changes:
        await conn.execute(delete(poll_objections).where(
            poll_objections.c.poll_id == poll_id, poll_objections.c.voter_key == key))
        if reason is not None:
            await conn.execute(poll_objections.insert().values(
                poll_id=poll_id, voter_key=key, reason=reason, at=at))


async def objection_reasons(conn: AsyncConnection, poll_id: int) -> list[str]:
    """The reasons given with a consent poll's objections, without who gave them."""
    rows = await conn.execute(select(poll_objections.c.reason).where(
        poll_objections.c.poll_id == poll_id).order_by(poll_objections.c.at,
                                                       poll_objections.c.voter_key))
    return [reason for (reason,) in rows]
