"""Deep links ``t.me/<bot>?start=<action>_<community>``: how a group hands someone over
to their private chat with the bot for a multi-step flow. For a few actions the number is
the id of what the flow is about instead (``question_<poll>``)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

_PAYLOAD = re.compile(r"^([a-z]{1,20})_(\d{1,12})$")


class DeepLink(BaseModel):
    model_config = ConfigDict(frozen=True)

    action: str
    community_id: int

    @property
    def payload(self) -> str:
        return f"{self.action}_{self.community_id}"

    def url(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.payload}"

    @classmethod
    def parse(cls, payload: str) -> DeepLink | None:
        """Read a payload; anything not of the expected shape is None, never an error."""
        match = _PAYLOAD.match(payload.strip())
        if match is None:
            return None
        return cls(action=match.group(1), community_id=int(match.group(2)))


def payload_pattern(action: str) -> str:
    """A regex for a /start command carrying this action, for a feature's entry point."""
    return rf"^/start(@\w+)? {action}_\d+$"
