"""PostgreSQL servers as the tests and CI use them: whether one answers, and a fresh,
empty database on it for one test (dropped afterwards)."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine


async def reachable(url: str) -> None:
    """Connect once to the server at ``url`` (a SQLAlchemy URL); raises if it does not
    answer within a few seconds."""
    engine = create_async_engine(url, connect_args={"timeout": 5})
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def lock_waits(conn: AsyncConnection) -> int:
    """How many lock requests wait now in this connection's database (pg_locks, by the
    sessions connected to it): a test watches one transaction wait for another with it.
    Other databases on the server (other tests running beside) are not counted. The
    sessions' list is otherwise read once per transaction: it is read afresh each time."""
    await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
    return int((await conn.execute(text(
        "SELECT count(*) FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE NOT l.granted AND a.datname = current_database()"))).scalar_one())


def shown(url: str) -> str:
    """``url`` as it may be printed: without its password."""
    return make_url(url).render_as_string(hide_password=True)


@contextlib.asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new, empty database on the server at ``server``, dropped when the block ends
    (connections still open to it included); yields its URL."""
    name = f"yishi_test_{secrets.token_hex(6)}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
