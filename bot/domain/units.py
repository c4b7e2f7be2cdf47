"""Unit addresses: building, staircase (单元) and room, as residents type them."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

# 3-2-501, 3-501, 3/2/501, "3 2 501"; and the usual Chinese forms:
# 3栋2单元501, 3号楼2单元501室, 3幢501.
# Buildings are numbers or a letter (A栋); rooms are numbers, perhaps with a letter.
_BUILDING = r"([A-Za-z]?\d{1,3}[A-Za-z]?|[A-Za-z])"
_STAIRCASE = r"(\d{1,2}|[A-Za-z])"
_ROOM = r"([A-Za-z]?\d{1,5}[A-Za-z]?)"
_LATIN = re.compile(rf"^\s*{_BUILDING}\s*[-/ ]\s*(?:{_STAIRCASE}\s*[-/ ]\s*)?{_ROOM}\s*$")
_CHINESE = re.compile(rf"^\s*{_BUILDING}\s*(?:号楼|栋|幢|号)\s*(?:{_STAIRCASE}\s*单元)?"
                      rf"\s*{_ROOM}\s*(?:室|号)?\s*$")


class UnitAddress(BaseModel):
    """Where a household lives. Staircase is optional: many buildings have only one."""

    model_config = ConfigDict(frozen=True)

    building: str
    staircase: str | None = None
    room: str

    @classmethod
    def parse(cls, text: str) -> UnitAddress | None:
        """Read a typed address; anything that is not clearly one is None."""
        text = text.strip().replace("－", "-").replace("—", "-")
        for pattern in (_LATIN, _CHINESE):
            match = pattern.match(text)
            if match:
                building, staircase, room = match.groups()
                return cls(building=building.upper(),
                           staircase=staircase.upper() if staircase else None,
                           room=room.upper())
        return None

    @property
    def code(self) -> str:
        """The short form shown everywhere: 3-2-501, or 3-501 without a staircase."""
        parts = [self.building, self.staircase, self.room]
        return "-".join(p for p in parts if p)

    def __str__(self) -> str:
        return self.code
