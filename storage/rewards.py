"""The committee's rewards, redemptions and the points each person has spent
(bot/domain/rewards.py has the rules)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.rewards import Redemption, RedemptionStatus, Reward
from bot.domain.rewards import spendable as spendable_points
from storage.schema import point_wallets, points_ledger, redemptions, rewards
from storage.upsert import upsert


class SoldOut(Exception):
    """No stock left (or the reward was withdrawn); nothing was written."""


class NotEnoughPoints(Exception):
    """The person has not that many points to spend; nothing was written."""


def _reward(row: RowMapping) -> Reward:
    return Reward(id=row["id"], community_id=row["community_id"], number=row["number"],
                  name=row["name"], price=row["price"], stock=row["stock"],
                  active=row["active"])


def _redemption(row: RowMapping) -> Redemption:
    return Redemption(id=row["id"], community_id=row["community_id"],
                      reward_id=row["reward_id"], user_id=row["user_id"], price=row["price"],
                      status=RedemptionStatus(row["status"]), at=row["at"])


async def add(conn: AsyncConnection, community_id: int, name: str, price: int,
              stock: int) -> Reward:
    number = (await conn.execute(select(func.coalesce(func.max(rewards.c.number), 0) + 1)
                                 .where(rewards.c.community_id == community_id))).scalar_one()
    made = await conn.execute(insert(rewards).values(
        community_id=community_id, number=number, name=name, price=price, stock=stock)
        .returning(rewards.c.id))
    found = await get(conn, made.scalar_one())
    assert found is not None
    return found


async def get(conn: AsyncConnection, reward_id: int) -> Reward | None:
    row = (await conn.execute(select(rewards).where(rewards.c.id == reward_id))
           ).mappings().first()
    return _reward(row) if row else None


async def by_number(conn: AsyncConnection, community_id: int, number: int) -> Reward | None:
    row = (await conn.execute(select(rewards).where(
        rewards.c.community_id == community_id, rewards.c.number == number))).mappings().first()
    return _reward(row) if row else None


async def catalogue(conn: AsyncConnection, community_id: int) -> list[Reward]:
    rows = await conn.execute(select(rewards).where(
        rewards.c.community_id == community_id, rewards.c.active.is_(True))
        .order_by(rewards.c.price, rewards.c.number))
    return [_reward(r) for r in rows.mappings()]


async def set_stock(conn: AsyncConnection, reward_id: int, stock: int) -> None:
    await conn.execute(update(rewards).where(rewards.c.id == reward_id).values(stock=stock))


async def withdraw(conn: AsyncConnection, reward_id: int) -> None:
    await conn.execute(update(rewards).where(rewards.c.id == reward_id).values(active=False))


def _earned(community_id: int, user_id: int):  # noqa: ANN202 (a scalar subquery)
    return (select(func.coalesce(func.sum(points_ledger.c.points), 0))
            .where(points_ledger.c.community_id == community_id,
                   points_ledger.c.user_id == user_id, points_ledger.c.revoked_at.is_(None))
            .scalar_subquery())


async def spendable(conn: AsyncConnection, community_id: int, user_id: int) -> int:
    spent = (await conn.execute(select(point_wallets.c.spent).where(
        point_wallets.c.community_id == community_id,
        point_wallets.c.user_id == user_id))).scalar()
    earned = (await conn.execute(select(_earned(community_id, user_id)))).scalar_one()
    return spendable_points(int(earned), int(spent or 0))


async def redeem(conn: AsyncConnection, reward: Reward, user_id: int, token: str,
                 now: datetime) -> Redemption | None:
    """Spend the points and take one from the stock, together; ``None`` if this
    confirmation (``token``) was used before. :class:`SoldOut`, :class:`NotEnoughPoints`:
    nothing was written (raise them out of the transaction)."""
    if (await conn.execute(select(redemptions.c.id).where(
            redemptions.c.user_id == user_id, redemptions.c.token == token))).first():
        return None
    taken = await conn.execute(update(rewards).where(
        rewards.c.id == reward.id, rewards.c.stock > 0, rewards.c.active.is_(True))
        .values(stock=rewards.c.stock - 1))
    if taken.rowcount == 0:
        raise SoldOut
    await upsert(conn, point_wallets, {"community_id": reward.community_id,
                                       "user_id": user_id, "spent": 0},
                 conflict=["community_id", "user_id"], update=[])
    # One statement checks and moves what was spent, so two at once cannot both pass.
    paid = await conn.execute(update(point_wallets).where(
        point_wallets.c.community_id == reward.community_id,
        point_wallets.c.user_id == user_id,
        point_wallets.c.spent + reward.price <= _earned(reward.community_id, user_id))
        .values(spent=point_wallets.c.spent + reward.price))
    if paid.rowcount == 0:
        raise NotEnoughPoints
    made = await conn.execute(insert(redemptions).values(
        community_id=reward.community_id, reward_id=reward.id, user_id=user_id,
        price=reward.price, status=RedemptionStatus.ASKED.value, token=token, at=now)
        .returning(redemptions.c.id))
    found = await redemption(conn, made.scalar_one())
    assert found is not None
    return found


async def redemption(conn: AsyncConnection, redemption_id: int) -> Redemption | None:
    row = (await conn.execute(select(redemptions).where(redemptions.c.id == redemption_id))
           ).mappings().first()
    return _redemption(row) if row else None


async def deliver(conn: AsyncConnection, redemption_id: int, now: datetime) -> bool:
    done = await conn.execute(update(redemptions).where(
        redemptions.c.id == redemption_id,
        redemptions.c.status == RedemptionStatus.ASKED.value)
        .values(status=RedemptionStatus.DELIVERED.value, delivered_at=now))
    return done.rowcount > 0
