"""Structured logs to stderr: one JSON object per line, with the bot token redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


# A bot token wherever it appears, known or not: in a Bot API URL (".../bot<token>/...",
# which a transport error quotes) or on its own ("<digits>:<35 letters, digits, - or _>").
TOKEN_PATTERN = re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_-]+|\b\d{5,}:[A-Za-z0-9_-]{30,}")


def without_tokens(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<token>")
    return TOKEN_PATTERN.sub("<token>", text)


class _JsonFormatter(logging.Formatter):
    """One JSON object per line; no bot token in it, whichever field carried it (the
    message, a traceback, or a field given as ``extra``)."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        return without_tokens(self._format(record), self._secrets)

    def _format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactSecrets(logging.Filter):
    """Replace every occurrence of the secrets in a formatted line (URLs carry the token)."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        exc_text = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        if any(secret in message or secret in exc_text for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "<token>")
                exc_text = exc_text.replace(secret, "<token>")
            record.msg, record.args = message, None
            if exc_text:
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{message}\n{exc_text}"
        return True


# Libraries that log what people sent, whatever the level asked for, and the least level
# they keep: PTB logs each update at DEBUG (a vote press, with who pressed and what), the
# database driver each statement with its values at DEBUG, SQLAlchemy's engine at INFO.
_TALKATIVE = {"telegram": logging.INFO, "aiosqlite": logging.INFO, "asyncpg": logging.INFO,
              "sqlalchemy.engine": logging.WARNING, "sqlalchemy.pool": logging.WARNING}


def keep_people_out_of_logs() -> None:
    """No log line, at any level, carries what a person sent: no vote (secret or not), no
    message text from a library's debug output."""
    for name, least in _TALKATIVE.items():
        logger = logging.getLogger(name)
        # Fixed at least at ``least`` (and never chattier than it is now), so lowering the
        # root's level later does not open it up.
        logger.setLevel(max(least, logger.getEffectiveLevel()))


def setup_logging(level: str, *secrets: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter(*secrets))
    handler.addFilter(RedactSecrets(*secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # library warnings become log lines like any other
    # httpx logs every request URL at INFO, and the URL holds the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    keep_people_out_of_logs()
