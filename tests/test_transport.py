"""bot/transport.py against a real HTTP server: the fields and uploads arrive as the Bot API
expects them, and a slow or missing server becomes PTB's TimedOut or NetworkError."""

import asyncio
import socket
import ssl

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.transport import AiohttpRequest


def _data(**values: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


@pytest.fixture
async def server():
    seen: list[dict] = []

    async def echo(request: web.Request) -> web.Response:
        if request.content_type == "multipart/form-data":
            parts = {}
            async for part in await request.multipart():
                parts[part.name] = (part.filename, part.headers.get("Content-Type"),
                                    await part.read())
            seen.append({"type": "multipart", "parts": parts})
        else:
            seen.append({"type": request.content_type, "form": dict(await request.post()),
                         "agent": request.headers.get("User-Agent")})
        return web.json_response({"ok": True, "result": True})

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


async def test_fields_go_as_a_form_and_uploads_as_multipart_with_their_names(server):
    base, seen = server
    request = AiohttpRequest()
    await request.initialize()
    try:
        status, body = await request.do_request(
            f"{base}/echo", "POST", _data(chat_id=-100, text="你好 & <b>"))
        assert status == 200 and body == b'{"ok": true, "result": true}'
        photo = InputFile(b"\x89PNG fake", filename="chart.png")
        status, _ = await request.do_request(f"{base}/echo", "POST",
                                             _data(chat_id=-100, photo=photo))
        assert status == 200
    finally:
        await request.shutdown()
    form, upload = seen
    assert form == {"type": "application/x-www-form-urlencoded",
                    "form": {"chat_id": "-100", "text": "你好 & <b>"},
                    "agent": AiohttpRequest.USER_AGENT}
    assert upload["type"] == "multipart"
    assert upload["parts"]["chat_id"][2] == b"-100"
    assert upload["parts"]["photo"] == ("chart.png", "image/png", b"\x89PNG fake")


async def test_a_slow_answer_is_a_timeout_and_a_closed_port_a_network_error(server):
    base, _seen = server
    request = AiohttpRequest(read_timeout=0.1)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.do_request(f"{base}/slow", "POST")
        # A timeout given for the call wins over the default.
        status, _ = await request.do_request(f"{base}/slow", "POST", read_timeout=5)
        assert status == 200
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]  # bound, never listening: refused
            with pytest.raises(NetworkError) as refused:
                await request.do_request(f"http://127.0.0.1:{closed}/x", "POST")
        assert not isinstance(refused.value, TimedOut)
    finally:
        await request.shutdown()
    with pytest.raises(RuntimeError):
        await request.do_request(f"{base}/echo", "POST")


def test_proxies_come_from_the_environment_once_per_host(monkeypatch):
    for name in ("https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    request = AiohttpRequest()
    assert request._proxy_for("https://api.telegram.org/botX/getMe") == \
        "http://proxy.example:3128"
    assert request._proxy_for("http://127.0.0.1:8081/botX/getMe") is None
    # Read once: a change in the environment later does not reach a host already seen.
    monkeypatch.delenv("HTTPS_PROXY")
    assert request._proxy_for("https://api.telegram.org/botX/sendMessage") == \
        "http://proxy.example:3128"


def test_telegrams_certificate_is_checked_against_certifi_unless_the_environment_says(
        monkeypatch, tmp_path):
    import certifi

    from bot.transport import tls_context

    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    bundled = ssl.create_default_context(cafile=certifi.where()).get_ca_certs()
    assert len(context.get_ca_certs()) == len(bundled) > 100
    # An authority file of the deployment's own (a company's proxy, say) replaces it.
    mine = tmp_path / "ca.pem"
    mine.write_text(ssl.DER_cert_to_PEM_cert(ssl.create_default_context(
        cafile=certifi.where()).get_ca_certs(binary_form=True)[0]))
    monkeypatch.setenv("SSL_CERT_FILE", str(mine))
    assert len(tls_context().get_ca_certs()) == 1
