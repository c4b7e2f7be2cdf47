"""Rewards (积分兑换): the committee's small catalogue — a parking voucher, priority booking
of the community room, a certificate — each with a price in points and a stock. A
resident spends points they have earned and not yet spent; the stock and the points go
down together, once; the moderators deliver it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

NAME_MAX = 80
PRICE_MAX = 100_000
STOCK_MAX = 10_000


class Reward(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    name: str
    price: int
    stock: int
    active: bool

    @property
    def ref(self) -> str:
        return f"G-{self.number}"


class RedemptionStatus(StrEnum):
    ASKED = "asked"  # points spent, waiting for the moderators
    DELIVERED = "delivered"


class Redemption(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    reward_id: int
    user_id: int
    price: int
    status: RedemptionStatus
    at: datetime


def spendable(earned: int, spent: int) -> int:
    """Points a person may still spend: what they earned (taken-back acts excluded) less
    what they spent; never below zero."""
    return max(earned - spent, 0)
