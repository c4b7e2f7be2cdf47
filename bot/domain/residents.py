"""A person's tie to a unit, from a join request to verification (or rejection)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.domain.households import Relation


class ResidentStatus(StrEnum):
    """Where a join request stands; only verified residents are on the roster."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Resident(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    user_id: int
    unit_id: int
    relation: Relation
    status: ResidentStatus
    area_claimed: float | None
    requested_at: datetime
    decided_by: int | None
    notices: list[list[int]]
