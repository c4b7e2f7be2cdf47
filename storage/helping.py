"""Requests and offers of help, who answered them, and the time bank: a ledger that is only
added to, balances the database keeps at or above zero, transfers within a household and
a community's own rates (bot/domain/helping.py has the rules)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.helping import (
    Audience,
    Entry,
    EntryKind,
    Help,
    HelpStatus,
    Kind,
    Rates,
    Side,
    TransferStatus,
)
from storage.database import first_row
from storage.schema import help_answers, helps, time_balances, time_ledger, time_rates
from storage.schema import time_transfers as transfers
from storage.upsert import upsert


class Overdrawn(Exception):
    """The entry would take a balance below zero; nothing was written."""


def _help(row: RowMapping) -> Help:
    return Help(
        id=row["id"], community_id=row["community_id"], number=row["number"],
        side=Side(row["side"]), kind=Kind(row["kind"]), author_id=row["author_id"],
        text=row["text"], starts_at=row["starts_at"], minutes=row["minutes"],
        audience=Audience(row["audience"]), status=HelpStatus(row["status"]),
        partner_id=row["partner_id"], claimed_minutes=row["claimed_minutes"],
        post_chat_id=row["post_chat_id"], post_message_id=row["post_message_id"],
        created_at=row["created_at"])


async def create(conn: AsyncConnection, *, community_id: int, side: Side, kind: Kind,
                 author_id: int, text: str, starts_at: datetime, minutes: int,
                 audience: Audience, now: datetime) -> Help:
    number = (await conn.execute(select(func.coalesce(func.max(helps.c.number), 0) + 1)
                                 .where(helps.c.community_id == community_id))).scalar_one()
    made = await conn.execute(insert(helps).values(
        community_id=community_id, number=number, side=side.value, kind=kind.value,
        author_id=author_id, text=text, starts_at=starts_at, minutes=minutes,
        audience=audience.value, status=HelpStatus.OPEN.value, created_at=now,
        updated_at=now).returning(helps.c.id))
    found = await get(conn, made.scalar_one())
    assert found is not None
    return found


async def get(conn: AsyncConnection, help_id: int, *, lock: bool = False) -> Help | None:
    """The request for help; with ``lock``, its row held (storage.database.first_row)."""
    row = await first_row(conn, select(helps).where(helps.c.id == help_id), lock=lock)
    return _help(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Help | None:
    row = (await conn.execute(select(helps).where(
        helps.c.community_id == community_id, helps.c.number == number))).mappings().first()
    return _help(row) if row else None


async def count(conn: AsyncConnection, community_id: int) -> int:
    return int((await conn.execute(select(func.count()).select_from(helps).where(
        helps.c.community_id == community_id))).scalar_one())


async def change(conn: AsyncConnection, help_id: int, now: datetime, *,
                 expected: set[HelpStatus], **values: object) -> bool:
    """Move a piece of help on, if it is still in one of the ``expected`` states (False:
    someone else moved it first; nothing was changed)."""
    done = await conn.execute(update(helps).where(
        helps.c.id == help_id, helps.c.status.in_([s.value for s in expected]))
        .values(updated_at=now, **{k: (v.value if isinstance(v, HelpStatus) else v)
                                   for k, v in values.items()}))
    return done.rowcount > 0


async def posted(conn: AsyncConnection, help_id: int, chat_id: int, message_id: int,
                 shows: str) -> None:
    await conn.execute(update(helps).where(helps.c.id == help_id).values(
        post_chat_id=chat_id, post_message_id=message_id, post_shows=shows))


async def showing(conn: AsyncConnection, help_id: int, shows: str) -> bool:
    """Note that the post is to show ``shows``; False if it shows that already."""
    done = await conn.execute(update(helps).where(
        helps.c.id == help_id, helps.c.post_shows.is_distinct_from(shows))
        .values(post_shows=shows))
    return done.rowcount > 0


async def answer(conn: AsyncConnection, help_id: int, user_id: int, now: datetime) -> bool:
    """Note that ``user_id`` answered; False if they had already."""
    return await upsert(conn, help_answers, {"help_id": help_id, "user_id": user_id, "at": now},
                        conflict=["help_id", "user_id"], update=[]) > 0


async def answered(conn: AsyncConnection, help_id: int) -> list[int]:
    rows = await conn.execute(select(help_answers.c.user_id).where(
        help_answers.c.help_id == help_id).order_by(help_answers.c.at))
    return [int(r) for r in rows.scalars()]


# --- the time bank ----------------------------------------------------------------------


def _entry(row: RowMapping) -> Entry:
    return Entry(id=row["id"], community_id=row["community_id"], user_id=row["user_id"],
                 kind=EntryKind(row["kind"]), amount=row["amount"], ref=row["ref"],
                 reason=row["reason"], reverses=row["reverses"], at=row["at"], by=row["by"])


async def enter(conn: AsyncConnection, *, community_id: int, user_id: int, kind: EntryKind,
                amount: int, ref: str, now: datetime, reason: str | None = None,
                reverses: int | None = None, by: int | None = None) -> Entry:
    """Add an entry and move the balance with it. :class:`Overdrawn` if the balance would go
    below zero (then nothing of this entry is written)."""
    await upsert(conn, time_balances, {"community_id": community_id, "user_id": user_id,
                                       "balance": 0},
                 conflict=["community_id", "user_id"], update=[])
    # One statement reads and moves the balance, so two withdrawals at once cannot both
    # pass; the table's CHECK stands behind it.
    moved = await conn.execute(update(time_balances).where(
        time_balances.c.community_id == community_id, time_balances.c.user_id == user_id,
        time_balances.c.balance + amount >= 0)
        .values(balance=time_balances.c.balance + amount))
    if moved.rowcount == 0:
        raise Overdrawn
    made = await conn.execute(insert(time_ledger).values(
        community_id=community_id, user_id=user_id, kind=kind.value, amount=amount, ref=ref,
        reason=reason, reverses=reverses, at=now, by=by).returning(time_ledger.c.id))
    found = await entry(conn, made.scalar_one())
    assert found is not None
    return found


async def entry(conn: AsyncConnection, entry_id: int) -> Entry | None:
    row = (await conn.execute(select(time_ledger).where(time_ledger.c.id == entry_id))
           ).mappings().first()
    return _entry(row) if row else None


async def entries_for(conn: AsyncConnection, community_id: int, ref: str) -> list[Entry]:
    """The entries an act made (``H-3``), reversals included, oldest first."""
    rows = await conn.execute(select(time_ledger).where(
        time_ledger.c.community_id == community_id, time_ledger.c.ref == ref)
        .order_by(time_ledger.c.id))
    return [_entry(r) for r in rows.mappings()]


async def history(conn: AsyncConnection, community_id: int, user_id: int) -> list[Entry]:
    rows = await conn.execute(select(time_ledger).where(
        time_ledger.c.community_id == community_id, time_ledger.c.user_id == user_id)
        .order_by(time_ledger.c.id))
    return [_entry(r) for r in rows.mappings()]


async def balance(conn: AsyncConnection, community_id: int, user_id: int) -> int:
    found = (await conn.execute(select(time_balances.c.balance).where(
        time_balances.c.community_id == community_id,
        time_balances.c.user_id == user_id))).scalar()
    return int(found or 0)


async def given_between(conn: AsyncConnection, community_id: int, start: datetime,
                        end: datetime) -> tuple[int, int]:
    """How many pieces of help were confirmed in [start, end), and their minutes (for the
    weekly summary; one taken back since is not counted)."""
    count, minutes = (await conn.execute(
        select(func.count(), func.coalesce(func.sum(helps.c.claimed_minutes), 0))
        .where(helps.c.community_id == community_id, helps.c.status == HelpStatus.DONE.value,
               helps.c.updated_at >= start, helps.c.updated_at < end))).one()
    return int(count), int(minutes)


async def rates(conn: AsyncConnection, community_id: int, defaults: Rates) -> Rates:
    """The configuration's rates with the community's own in their place."""
    rows = await conn.execute(select(time_rates.c.kind, time_rates.c.per_hour).where(
        time_rates.c.community_id == community_id))
    own = {kind: Decimal(per_hour) / 100 for kind, per_hour in rows.all()
           if kind in Kind.__members__.values()}
    return defaults.model_copy(update=own) if own else defaults


async def set_rate(conn: AsyncConnection, community_id: int, kind: Kind,
                   per_hour: Decimal) -> None:
    await upsert(conn, time_rates, {"community_id": community_id, "kind": kind.value,
                                    "per_hour": int(per_hour * 100)},
                 conflict=["community_id", "kind"], update=["per_hour"])


async def ask_transfer(conn: AsyncConnection, *, community_id: int, from_id: int, to_id: int,
                       amount: int, now: datetime) -> int:
    made = await conn.execute(insert(transfers).values(
        community_id=community_id, from_id=from_id, to_id=to_id, amount=amount,
        status=TransferStatus.ASKED.value, at=now).returning(transfers.c.id))
    return int(made.scalar_one())


async def transfer(conn: AsyncConnection, transfer_id: int) -> RowMapping | None:
    return (await conn.execute(select(transfers).where(transfers.c.id == transfer_id))
            ).mappings().first()


async def decide_transfer(conn: AsyncConnection, transfer_id: int, status: TransferStatus,
                          now: datetime) -> bool:
    """Settle an asked transfer once (False: it was settled before)."""
    done = await conn.execute(update(transfers).where(
        transfers.c.id == transfer_id, transfers.c.status == TransferStatus.ASKED.value)
        .values(status=status.value, decided_at=now))
    return done.rowcount > 0


async def given_by(conn: AsyncConnection, community_id: int, user_id: int, start: datetime,
                   end: datetime) -> list[Help]:
    """The confirmed help ``user_id`` gave, agreed for [start, end), in order."""
    rows = await conn.execute(select(helps).where(
        helps.c.community_id == community_id, helps.c.status == HelpStatus.DONE.value,
        helps.c.starts_at >= start, helps.c.starts_at < end,
        ((helps.c.side == Side.OFFER.value) & (helps.c.author_id == user_id))
        | ((helps.c.side == Side.NEED.value) & (helps.c.partner_id == user_id)))
        .order_by(helps.c.starts_at))
    return [_help(r) for r in rows.mappings()]
