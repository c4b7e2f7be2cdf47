"""Several instances sharing one bot (bot/sharing.py): the runs alive, the chat leases,
what a dead run held, and Telegram's flood limits counted for all of them together.

PostgreSQL only (several processes need a database server). Liveness and the send
windows are read from the database's own clock, so the instances' clocks need not agree
(and a simulated business clock, bot/clock.py, never makes a live run look dead).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, literal, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import (
    chat_leases,
    due_work,
    instances,
    outbox,
    send_budget,
    update_inbox,
    update_progress,
)

# The database's clock, as the naive UTC the tables hold.
_NOW = func.timezone("UTC", func.clock_timestamp())
# One lock for the whole deployment's send budget (pg_advisory_xact_lock's key).
BUDGET_LOCK = 0x7969736869  # "yishi"
# A send counts in the budget this long, then its row goes.
BUDGET_KEPT = timedelta(seconds=61)


def _live(alive: timedelta) -> Any:
    """The runs seen within ``alive``."""
    return select(instances.c.run).where(instances.c.seen_at > _NOW - literal(alive))


async def register(conn: AsyncConnection, name: str, run: str) -> None:
    """This run is instance ``name`` from now on: a previous run under the name is dead
    (what it held is taken over at once)."""
    statement = insert(instances).values(name=name, run=run, started_at=_NOW, seen_at=_NOW)
    await conn.execute(statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"run": statement.excluded.run, "started_at": statement.excluded.started_at,
              "seen_at": statement.excluded.seen_at}))


async def beat(conn: AsyncConnection, run: str) -> bool:
    """This run is alive; False when another run has taken its name meanwhile."""
    result = await conn.execute(update(instances).where(instances.c.run == run)
                                .values(seen_at=_NOW))
    return result.rowcount == 1


async def leave(conn: AsyncConnection, run: str) -> None:
    """A clean stop: the run's chats go to whoever receives their next update, or is
    first to look (what is left of them stays in the inbox), and it is no longer alive."""
    await conn.execute(delete(chat_leases).where(chat_leases.c.run == run))
    await conn.execute(delete(instances).where(instances.c.run == run))


async def alive(conn: AsyncConnection, alive_within: timedelta) -> list[tuple[str, str]]:
    """(name, run) of every run alive."""
    rows = await conn.execute(select(instances.c.name, instances.c.run)
                              .where(instances.c.run.in_(_live(alive_within)))
                              .order_by(instances.c.name))
    return [(name, run) for name, run in rows]


# ------------------------------------------------------------------ received updates


async def received_mark(conn: AsyncConnection) -> int:
    """The highest update id received by any instance, locked until the transaction ends:
    Telegram posts one update at a time, and the instance receiving it decides alone
    whether it is new."""
    await conn.execute(insert(update_progress).values(id=1, last_received=0)
                       .on_conflict_do_nothing(index_elements=["id"]))
    return int((await conn.execute(
        select(update_progress.c.last_received).where(update_progress.c.id == 1)
        .with_for_update())).scalar_one())


async def receive(conn: AsyncConnection, update_id: int, payload: dict[str, Any],
                  chat_key: int, now: datetime) -> None:
    """Write a posted update down, with its chat, and move the received mark to it."""
    await conn.execute(insert(update_inbox).values(
        update_id=update_id, payload=payload, received_at=now, chat_key=chat_key)
        .on_conflict_do_nothing(index_elements=["update_id"]))
    await conn.execute(update(update_progress).where(update_progress.c.id == 1)
                       .values(last_received=update_id))


async def keyless(conn: AsyncConnection) -> list[tuple[int, dict[str, Any]]]:
    """Updates written down without their chat (by one process polling, before the
    instances shared the bot)."""
    rows = await conn.execute(select(update_inbox.c.update_id, update_inbox.c.payload)
                              .where(update_inbox.c.chat_key.is_(None)))
    return [(update_id, payload) for update_id, payload in rows]


async def set_chat_keys(conn: AsyncConnection, keys: dict[int, int]) -> None:
    for update_id, chat_key in keys.items():
        await conn.execute(update(update_inbox).where(update_inbox.c.update_id == update_id)
                           .values(chat_key=chat_key))


# ----------------------------------------------------------------------- chat leases


async def take_chats(conn: AsyncConnection, keys: Iterable[int], run: str,
                     alive_within: timedelta) -> set[int]:
    """Of ``keys``, the chats this run holds now: those it held, nobody held, or a dead
    run held."""
    keys = sorted(set(keys))
    if not keys:
        return set()
    statement = insert(chat_leases).values(
        [{"chat_key": key, "run": run, "taken_at": _NOW} for key in keys])
    statement = statement.on_conflict_do_update(
        index_elements=["chat_key"],
        set_={"run": statement.excluded.run, "taken_at": statement.excluded.taken_at},
        where=or_(chat_leases.c.run == run,
                  chat_leases.c.run.not_in(_live(alive_within))))
    rows = await conn.execute(statement.returning(chat_leases.c.chat_key))
    return {key for (key,) in rows}


async def held(conn: AsyncConnection, run: str) -> set[int]:
    rows = await conn.execute(select(chat_leases.c.chat_key).where(chat_leases.c.run == run))
    return {key for (key,) in rows}


async def waiting(conn: AsyncConnection, run: str, *, chat_key: int | None = None,
                  before: int | None = None) -> list[tuple[int, int]]:
    """(update id, chat) of the updates waiting in the chats this run holds (or in
    ``chat_key`` only, below ``before``), in the order received."""
    query = (select(update_inbox.c.update_id, update_inbox.c.chat_key)
             .join(chat_leases, chat_leases.c.chat_key == update_inbox.c.chat_key)
             .where(chat_leases.c.run == run).order_by(update_inbox.c.update_id))
    if chat_key is not None:
        query = query.where(update_inbox.c.chat_key == chat_key)
    if before is not None:
        query = query.where(update_inbox.c.update_id < before)
    rows = await conn.execute(query)
    return [(update_id, key) for update_id, key in rows]


async def payloads(conn: AsyncConnection, update_ids: Collection[int]
                   ) -> dict[int, dict[str, Any]]:
    if not update_ids:
        return {}
    rows = await conn.execute(select(update_inbox.c.update_id, update_inbox.c.payload)
                              .where(update_inbox.c.update_id.in_(sorted(update_ids))))
    return {update_id: payload for update_id, payload in rows}


async def release_idle(conn: AsyncConnection, run: str, keys: Collection[int]) -> set[int]:
    """Give up those of ``keys`` with nothing left in the inbox; returns them. An update
    written down meanwhile by another instance keeps its chat here (it is seen by this
    statement, or its instance takes the chat after it)."""
    if not keys:
        return set()
    rows = await conn.execute(
        delete(chat_leases)
        .where(chat_leases.c.run == run, chat_leases.c.chat_key.in_(sorted(keys)),
               not_(exists().where(update_inbox.c.chat_key == chat_leases.c.chat_key)))
        .returning(chat_leases.c.chat_key))
    return {key for (key,) in rows}


async def orphaned(conn: AsyncConnection, alive_within: timedelta, limit: int) -> list[int]:
    """Chats with updates waiting and nobody alive holding them."""
    rows = await conn.execute(
        select(update_inbox.c.chat_key).distinct()
        .select_from(update_inbox.outerjoin(
            chat_leases, chat_leases.c.chat_key == update_inbox.c.chat_key))
        .where(update_inbox.c.chat_key.is_not(None),
               or_(chat_leases.c.chat_key.is_(None),
                   chat_leases.c.run.not_in(_live(alive_within))))
        .limit(limit))
    return [key for (key,) in rows]


async def release_dead(conn: AsyncConnection, alive_within: timedelta,
                       now: datetime) -> tuple[int, int]:
    """What dead runs had claimed goes back: the outbox messages they were sending, and
    the due work they were running (due again at ``now``, business time). Returns how
    many of each. Also forgets runs dead for a day, and sends out of every window."""
    messages = await conn.execute(
        update(outbox).where(outbox.c.sent_at.is_(None), outbox.c.leased_by.is_not(None),
                             outbox.c.leased_by.not_in(_live(alive_within)))
        .values(lease_until=None, leased_by=None))
    work = await conn.execute(
        update(due_work).where(due_work.c.done_at.is_(None), due_work.c.leased_by.is_not(None),
                               due_work.c.leased_by.not_in(_live(alive_within)),
                               due_work.c.due_at > now)
        .values(due_at=now, leased_by=None))
    await conn.execute(delete(instances).where(
        instances.c.seen_at < _NOW - literal(timedelta(days=1))))
    await conn.execute(delete(send_budget).where(
        send_budget.c.sent_at < _NOW - literal(BUDGET_KEPT)))
    return messages.rowcount, work.rowcount


# ----------------------------------------------------------------------- send budget


async def reserve_send(conn: AsyncConnection, chat_id: int | None,
                       windows: Sequence[tuple[int, float, bool]]) -> float:
    """Take a place for one message in every window — (limit, seconds, for this chat
    only) — if each has one, and return 0; else take nothing and return the seconds until
    the fullest frees. One deployment-wide lock orders the instances' reservations."""
    await conn.execute(select(func.pg_advisory_xact_lock(BUDGET_LOCK)))
    columns = [_NOW]
    for limit, seconds, per_chat in windows:
        query = select(send_budget.c.sent_at).where(
            send_budget.c.sent_at > _NOW - literal(timedelta(seconds=seconds)))
        if per_chat:
            query = query.where(send_budget.c.chat_id == chat_id)
        columns.append(query.order_by(send_budget.c.sent_at.desc())
                       .offset(limit - 1).limit(1).scalar_subquery())
    row = (await conn.execute(select(*columns))).one()
    now, oldest = row[0].replace(tzinfo=UTC), row[1:]
    wait = max([(kept + timedelta(seconds=seconds) - now).total_seconds()
                for kept, (_limit, seconds, _chat) in zip(oldest, windows, strict=True)
                if kept is not None], default=0.0)
    if wait > 0:
        return wait
    await conn.execute(insert(send_budget).values(chat_id=chat_id, sent_at=now))
    return 0.0
