"""Neighbours helping neighbours (邻里互助) and the time bank (时间银行).

A resident asks for help or offers it (H-1, H-2 …); neighbours answer; the one who asked
(or offered) chooses who. After the time, the helper says how long it took and the
person helped confirms it. Only then are the hours deposited to the helper, at the rate of
the kind of service: an hour caring for an elderly neighbour is worth 1.5 credits, tidying
the shared space 1, mediating a dispute 2 (the figures of the essays yishi comes from).

Credits are counted in hundredths, as whole numbers, so nothing is lost to rounding. The
ledger of credits is only ever added to: a deposit, a withdrawal (paying for help received
with one's own credits), a transfer between members of one household, and a moderator's
reversal of one of these, with a reason. A balance is never below zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Side(StrEnum):
    NEED = "need"  # someone asks for help
    OFFER = "offer"  # someone offers it


class Kind(StrEnum):
    """Kinds of service; each has a rate (credits per hour) in :class:`Rates`."""

    ELDERLY = "elderly"
    ENVIRONMENT = "environment"
    MEDIATION = "mediation"
    ERRANDS = "errands"
    REPAIRS = "repairs"
    LESSONS = "lessons"
    OTHER = "other"


class Audience(StrEnum):
    GROUP = "group"  # posted to the group
    MODERATORS = "moderators"  # only the moderators see it, and find a helper


class HelpStatus(StrEnum):
    OPEN = "open"  # waiting for answers
    MATCHED = "matched"  # a helper is chosen
    CLAIMED = "claimed"  # the helper said how long it took; the helped person confirms
    DONE = "done"  # confirmed: the hours are in the time bank
    NOT_HAPPENED = "not_happened"
    CANCELLED = "cancelled"
    REVERSED = "reversed"  # a moderator took the credits back


class Rates(BaseModel):
    """Credits per hour of each kind of service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    elderly: Decimal = Field(default=Decimal("1.5"), ge=0, le=10, decimal_places=2)
    environment: Decimal = Field(default=Decimal("1"), ge=0, le=10, decimal_places=2)
    mediation: Decimal = Field(default=Decimal("2"), ge=0, le=10, decimal_places=2)
    errands: Decimal = Field(default=Decimal("1"), ge=0, le=10, decimal_places=2)
    repairs: Decimal = Field(default=Decimal("1"), ge=0, le=10, decimal_places=2)
    lessons: Decimal = Field(default=Decimal("1"), ge=0, le=10, decimal_places=2)
    other: Decimal = Field(default=Decimal("1"), ge=0, le=10, decimal_places=2)

    def of(self, kind: Kind) -> Decimal:
        return Decimal(getattr(self, kind.value))


# How long a piece of help may take, in half hours (the buttons offer 0.5 h to 8 h).
HALF_HOURS_MAX = 16
# How long after the agreed time the two are asked whether it happened.
ASK_AFTER = timedelta(minutes=30)


class Help(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    number: int
    side: Side
    kind: Kind
    author_id: int
    text: str
    starts_at: datetime
    minutes: int
    audience: Audience
    status: HelpStatus
    partner_id: int | None  # the one the author chose
    claimed_minutes: int | None
    post_chat_id: int | None
    post_message_id: int | None
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"H-{self.number}"

    @property
    def helper_id(self) -> int | None:
        return self.author_id if self.side is Side.OFFER else self.partner_id

    @property
    def helped_id(self) -> int | None:
        return self.partner_id if self.side is Side.OFFER else self.author_id

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


class HelpError(ValueError):
    """Why a step of a piece of help is refused; ``code`` names it for the message."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def may_answer(help_: Help, user_id: int) -> None:
    """A neighbour presses "I can help" (or "I'd like that")."""
    if help_.status is not HelpStatus.OPEN:
        raise HelpError("not_open")
    if user_id == help_.author_id:
        raise HelpError("own")


def may_choose(help_: Help, user_id: int, chosen: int, answered: set[int]) -> None:
    if user_id != help_.author_id:
        raise HelpError("not_author")
    if help_.status is not HelpStatus.OPEN:
        raise HelpError("not_open")
    if chosen not in answered:
        raise HelpError("not_answered")


def may_claim(help_: Help, user_id: int, now: datetime) -> None:
    """The helper says how long it took (after the agreed time has begun)."""
    if help_.status not in (HelpStatus.MATCHED, HelpStatus.CLAIMED):
        raise HelpError("not_matched")
    if user_id != help_.helper_id:
        raise HelpError("not_helper")
    if now < help_.starts_at:
        raise HelpError("too_early")


def may_confirm(help_: Help, user_id: int) -> None:
    """Only the person helped confirms: nobody confirms their own help."""
    if help_.status is not HelpStatus.CLAIMED:
        raise HelpError("not_claimed")
    if user_id != help_.helped_id:
        raise HelpError("not_helped")


def may_cancel(help_: Help, user_id: int) -> None:
    if user_id != help_.author_id:
        raise HelpError("not_author")
    if help_.status not in (HelpStatus.OPEN, HelpStatus.MATCHED):
        raise HelpError("too_late")


def credits(minutes: int, rate: Decimal) -> int:
    """Hundredths of a credit for ``minutes`` of service at ``rate`` credits an hour."""
    exact = Decimal(minutes) / 60 * Decimal(rate) * 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def shown(hundredths: int) -> str:
    """2.25, 2.5, 2 — hundredths of a credit as people read them."""
    value = (Decimal(hundredths) / 100).quantize(Decimal("0.01"))
    text = f"{value:f}".rstrip("0").rstrip(".")
    return text or "0"


def hours(minutes: int) -> str:
    """1.5, 2 — minutes as hours."""
    return shown(round(minutes * 100 / 60))


class EntryKind(StrEnum):
    DEPOSIT = "deposit"  # hours of help given, at the kind's rate
    WITHDRAWAL = "withdrawal"  # paid for help received
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    REVERSAL = "reversal"  # a moderator undid an entry, with a reason


class Entry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    community_id: int
    user_id: int
    kind: EntryKind
    amount: int  # hundredths of a credit, signed
    ref: str  # H-3, a transfer's T-2
    reason: str | None
    reverses: int | None
    at: datetime
    by: int | None


class TransferStatus(StrEnum):
    ASKED = "asked"  # the giver offered; the receiver confirms
    DONE = "done"
    DECLINED = "declined"
