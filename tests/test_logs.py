"""Logs are JSON lines on stderr and never carry the bot token."""

import json
import logging
import secrets

from bot.logs import RedactSecrets, _JsonFormatter

TOKEN = "123456:AAE-secret-part"


def _format(record: logging.LogRecord) -> str:
    RedactSecrets(TOKEN).filter(record)
    return _JsonFormatter(TOKEN).format(record)


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


def test_no_token_in_a_field_given_as_extra_nor_an_unknown_one():
    """A transport error quoting the request URL, logged as a field (a redirect loop or a
    proxy error did this), and a token the formatter was not told about."""
    url = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    record = logging.getLogger("t").makeRecord(
        "t", logging.WARNING, __file__, 1, "send failed", (), None,
        extra={"error": f"TooManyRedirects: {url}", "url": url})
    line = _format(record)
    assert TOKEN not in line and "secret-part" not in line
    assert json.loads(line)["url"] == "https://api.telegram.org/bot<token>/sendMessage"
    # Made up here, never written down: nine digits, a colon and 35 URL-safe characters.
    other = f"{secrets.randbelow(9 * 10**8) + 10**8}:{secrets.token_urlsafe(27)[:35]}"
    record = logging.getLogger("t").makeRecord("t", logging.INFO, __file__, 1, other, (), None)
    assert other not in _JsonFormatter().format(record)


async def test_a_redirect_loop_carries_no_token_into_the_error():
    """The transport's error for a redirect loop, which aiohttp words with the full URL."""
    import aiohttp
    from aiohttp import web

    from bot.transport import AiohttpRequest

    async def loop_forever(request):
        raise web.HTTPFound(str(request.url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", loop_forever)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        from telegram.error import NetworkError

        try:
            await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
        except NetworkError as exc:
            assert TOKEN not in str(exc) and exc.__cause__ is None
            assert "TooManyRedirects" in str(exc) or "Redirect" in str(exc)
        else:
            raise AssertionError("a redirect loop did not fail")
    finally:
        await request.shutdown()
        await runner.cleanup()
    assert aiohttp  # the client the transport uses
