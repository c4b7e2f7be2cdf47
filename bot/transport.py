"""HTTP to the Bot API over aiohttp's client (PTB's ``BaseRequest``).

PTB's own transport is httpx. Its connection pool examines every connection on every
request (a poll() and a getpeername() each), so a vote burst, where several answers are
under way at once, spent more time choosing a connection than sending the answer. aiohttp
keeps idle connections in a list per host and hands one out without looking at the rest;
it is already a dependency (the local Bot API stand-in is built on its server half).

Timeouts keep PTB's meaning: ``connect`` to open a connection, ``pool`` to wait for a free
one, ``read`` for each read of the answer, ``write`` for sending an upload (a plain call's
few hundred bytes go at once; aiohttp times them under ``read``). A timeout is raised as
:class:`telegram.error.TimedOut` (as :class:`AnswerLate` once the call has gone out whole),
any other failure of the connection as :class:`telegram.error.NetworkError`, as PTB's
callers expect.
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.logs import without_tokens


class AnswerLate(TimedOut):
    """The call went out whole but Telegram's answer did not come in time: it was very
    likely carried out, so sending it again would likely repeat it (an edit may safely be
    made again; a message may not)."""


class AiohttpRequest(BaseRequest):
    def __init__(self, *, connections: int = 8, read_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 1.0,
                 media_write_timeout: float | None = 20.0) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, limit_per_host=0,
                                               ssl=tls_context()),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else None
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        # aiohttp's read timer runs while the body is sent as well: an upload gets its
        # write time on top (other bodies are a few hundred bytes, sent at once).
        sending = _given(write_timeout, self._media_write_timeout) if files else 0.0
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's "connect" covers waiting for a pooled connection and opening one.
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=None if read is None else read + (sending or 0.0),
        )
        body: Any = _form(fields, files) if files else fields
        try:
            async with self._session.request(method, url, data=body, timeout=timeout,
                                             proxy=self._proxy_for(url)) as response:
                return response.status, await response.read()
        except aiohttp.SocketTimeoutError as exc:
            raise AnswerLate from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            # The request URL holds the token (a redirect loop or a proxy error quotes it):
            # the error that travels on, to logs among others, never does.
            raise NetworkError(without_tokens(f"aiohttp.{type(exc).__name__}: {exc}")) \
                from None

    def _proxy_for(self, url: str) -> str | None:
        """HTTPS_PROXY, ALL_PROXY and NO_PROXY are honoured, as PTB's httpx honoured them.
        They are read once per host: aiohttp's own ``trust_env`` reads the environment
        (and ~/.netrc) on every request, which cost a third of a vote burst."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._proxies:
            found = urllib.request.getproxies()
            proxy = found.get(parts.scheme) or found.get("all")
            if proxy and urllib.request.proxy_bypass(parts.hostname or ""):
                proxy = None
            self._proxies[origin] = proxy
        return self._proxies[origin]


def tls_context() -> ssl.SSLContext:
    """Telegram's certificate is checked against the same authorities as PTB's httpx used:
    SSL_CERT_FILE or SSL_CERT_DIR if set, else certifi's bundle (so a system without its
    own store, such as a fresh Python on macOS, still connects)."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


def _form(fields: dict[str, str] | None, files: dict[str, Any]) -> aiohttp.FormData:
    form = aiohttp.FormData(quote_fields=False)
    for name, value in (fields or {}).items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form
