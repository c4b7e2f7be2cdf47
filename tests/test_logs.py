"""Logs are JSON lines on stderr and never carry the bot token."""

import json
import logging

from bot.logs import RedactSecrets, _JsonFormatter

TOKEN = "123456:AAE-secret-part"


def _format(record: logging.LogRecord) -> str:
    RedactSecrets(TOKEN).filter(record)
    return _JsonFormatter().format(record)


def test_the_token_is_redacted_from_messages_and_tracebacks():
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        import sys

        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "calling %s", (f"/bot{TOKEN}/getMe",),
            sys.exc_info())
    line = _format(record)
    assert TOKEN not in line and "secret-part" not in line
    entry = json.loads(line)
    assert entry["level"] == "error" and "/bot<token>/getMe" in entry["msg"]
    assert "RuntimeError" in entry["msg"]


def test_context_fields_become_json_keys():
    record = logging.getLogger("t").makeRecord("t", logging.INFO, __file__, 1, "tick", (), None,
                                                extra={"chat_id": -100, "kind": "ping"})
    entry = json.loads(_format(record))
    assert entry["msg"] == "tick" and entry["chat_id"] == -100 and entry["kind"] == "ping"
