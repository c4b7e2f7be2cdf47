"""The engine: one per process, opened in post_init and closed in post_shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import RowMapping, Select, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

# What a repository function takes: code outside storage/ names it by this, never by the
# driver's type, so only this package speaks SQL (or imports SQLAlchemy at all).
Connection = AsyncConnection
# What the database refuses with (a constraint, a trigger), for callers that expect it.
DatabaseError = DBAPIError

# Tables whose rows, old versions included, could tie a person to a secret vote or an
# anonymous survey answer until it closes: the ballots, who took part, the vote log, the
# survey's counts, takers and comments, and the raw updates (a button press).
VOTE_TRACES = ("ballots", "poll_participants", "poll_log", "survey_scores", "survey_takers",
               "survey_comments", "update_inbox")

# What PostgreSQL answers when it ended a transaction to let another go on (a deadlock it
# broke, a serialization failure): run whole again, such a transaction succeeds.
RETRYABLE = frozenset({"40P01", "40001"})
RETRIES = 5

T = TypeVar("T")

S = TypeVar("S", bound=Select[Any])


def held(query: S) -> S:
    """``query`` taking the rows it reads for this transaction, so that what it then
    writes waits for, or holds back, any other transaction doing the same (SQLite has one
    writer at a time and needs none).

    On PostgreSQL this is ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: a row inserted that
    refers to this one (an answer to a request for help, a ballot of a poll) takes a
    share of it for its foreign key, and ``FOR UPDATE`` would wait for that share; two
    transactions each holding one and then asking for the row would wait for each other
    forever, which PostgreSQL breaks by ending one of them."""
    return query.with_for_update(key_share=True)


async def first_row(conn: AsyncConnection, query: Select[Any], *,
                    lock: bool = False) -> RowMapping | None:
    """The first row ``query`` finds; with ``lock``, held until the transaction ends
    (:func:`held`). A refresh of a post reads its row so: on PostgreSQL the post's
    recording and an action then go one after the other, and the post shows both."""
    return (await conn.execute(held(query) if lock else query)).mappings().first()


_in_transaction: ContextVar[bool] = ContextVar("yishi_in_transaction", default=False)


# VACUUM FULL keeps an old row version that a transaction still open might see (one that
# began before it was deleted, an autovacuum's ANALYZE among them): flush_journal first
# waits for those to end, this long at most.
OLDER_SNAPSHOTS_WAIT = 10.0
# A session holds old row versions back while its snapshot's oldest transaction, or its
# own transaction, is older than the first transaction to start after now. Sessions of
# every database on the server count: PostgreSQL 15 was seen to keep a version deleted
# here while a transaction was open in another database.
_OLDER_SNAPSHOTS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND ("
    "(backend_xmin IS NOT NULL "
    "AND age(backend_xmin) > age((:horizon % 4294967296)::text::xid)) OR "
    "(backend_xid IS NOT NULL "
    "AND age(backend_xid) > age((:horizon % 4294967296)::text::xid)))")


async def _wait_for_older_snapshots(conn: Any) -> None:
    """PostgreSQL: wait until no other session on the server holds a snapshot or a
    transaction from before now (so that VACUUM FULL may drop every row version deleted
    before now). VACUUM keeps a version deleted by a transaction no older than the oldest
    of them all, so every session must have moved past the first transaction after now
    (the snapshot's xmax), not only past the oldest running now (its xmin): a session
    between the two would keep, say, a raw update deleted just before."""
    horizon = (await conn.execute(text(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"))).scalar_one()
    deadline = asyncio.get_running_loop().time() + OLDER_SNAPSHOTS_WAIT
    while (await conn.execute(_OLDER_SNAPSHOTS, {"horizon": horizon})).scalar_one():
        if asyncio.get_running_loop().time() > deadline:
            log.warning("a session older than a secret poll's close is still open; old row "
                        "versions it may see stay until the next vacuum")
            return
        await asyncio.sleep(0.1)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self._backend = make_url(url).get_backend_name()
        self._engine: AsyncEngine | None = None
        # SQLite takes one writer at a time. Queueing this process's transactions here,
        # in order, is far cheaper than letting them meet at SQLite's lock, whose busy
        # handler waits in sleeps of up to 100 ms.
        self._sqlite_writer: asyncio.Lock | None = None
        # The task whose SQLite transaction is under way (tests that simulate a crash let
        # it commit before abandoning everything: an orphaned connection keeps the lock).
        self.writer_task: asyncio.Task[Any] | None = None

    @property
    def is_sqlite(self) -> bool:
        return self._backend == "sqlite"

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the database is not open")
        return self._engine

    async def open(self) -> None:
        if self._engine is not None:
            return
        engine = create_async_engine(self.url)
        if self.is_sqlite:
            _configure_sqlite(engine)
        self._engine = engine

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def flush_journal(self) -> None:
        """Leave no old version of a deleted or changed row where the database keeps it.

        SQLite (with secure_delete) zeroes deleted rows in place, but its write-ahead log
        keeps old pages until a checkpoint folds it in and empties it. PostgreSQL keeps old
        row versions in the table files until they are vacuumed: the tables that can hold
        a link between a person and a secret vote are rewritten whole (VACUUM FULL; they
        are small, and this runs when a secret poll closes), and a checkpoint is asked for
        where the role may (the server's own WAL is then recycled as it sees fit)."""
        if not self.is_sqlite:
            async with self.engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await _wait_for_older_snapshots(auto)
                await auto.execute(text("VACUUM FULL " + ", ".join(VOTE_TRACES)))
                try:
                    await auto.execute(text("CHECKPOINT"))
                except DBAPIError:
                    log.info("no checkpoint: the database role may not ask for one")
            return
        if self._sqlite_writer is None:
            self._sqlite_writer = asyncio.Lock()
        async with self._sqlite_writer, self.engine.connect() as conn:
            # On the driver's connection: outside any transaction, which a checkpoint
            # cannot run inside.
            raw = await conn.get_raw_connection()
            await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @staticmethod
    def in_transaction() -> bool:
        """Whether this task holds a transaction open right now."""
        return _in_transaction.get()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One unit of work: committed when the block ends, rolled back if it raises.

        Transactions do not nest: on SQLite a second one would wait for the first's lock
        forever (until the busy timeout), so opening one inside another fails at once.
        """
        if _in_transaction.get():
            raise RuntimeError("a transaction is already open in this task; pass its "
                               "connection down instead of opening another")
        token = _in_transaction.set(True)
        try:
            if self.is_sqlite:
                if self._sqlite_writer is None:
                    self._sqlite_writer = asyncio.Lock()
                async with self._sqlite_writer:
                    self.writer_task = asyncio.current_task()
                    try:
                        async with self.engine.begin() as conn:
                            yield conn
                    finally:
                        self.writer_task = None
            else:
                async with self.engine.begin() as conn:
                    yield conn
        finally:
            _in_transaction.reset(token)


    async def retrying(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``work`` in one transaction, run again from the start (a few times) when
        PostgreSQL ended it to break a deadlock or a serialization conflict. For work that
        must not be lost to one, such as noting that a message went out (else it would be
        sent again). ``work`` must do nothing but through the connection: a retry repeats it."""
        for attempt in range(1, RETRIES + 1):
            try:
                async with self.transaction() as conn:
                    return await work(conn)
            except DBAPIError as exc:
                if attempt == RETRIES or getattr(exc.orig, "sqlstate", None) not in RETRYABLE:
                    raise
                log.info("transaction ended by the database to break a conflict; again",
                         extra={"attempt": attempt, "sqlstate": exc.orig.sqlstate})
                await asyncio.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that only reads (one snapshot of the database throughout). On
        SQLite it does not queue for the one writer: in WAL mode a reader sees the last
        commit and holds nothing a writer waits for, so a long read (a poll's count over
        a whole building) does not hold up the votes being written meanwhile. Writing in
        it fails."""
        if _in_transaction.get():
            raise RuntimeError("a transaction is already open in this task; pass its "
                               "connection down instead of opening another")
        token = _in_transaction.set(True)
        try:
            if not self.is_sqlite:
                # PostgreSQL: one snapshot (repeatable read), and writes refused.
                async with self.engine.connect() as conn:
                    await conn.execution_options(isolation_level="REPEATABLE READ",
                                                 postgresql_readonly=True)
                    async with conn.begin():
                        yield conn
                return
            async with self.engine.connect() as conn:
                await conn.execution_options(**{_READ_ONLY: True})
                try:
                    async with conn.begin():
                        yield conn
                finally:
                    # The connection goes back to the pool, where writers take it too.
                    try:
                        await conn.exec_driver_sql("PRAGMA query_only = OFF")
                    except BaseException:
                        await conn.invalidate()
                        raise
        finally:
            _in_transaction.reset(token)


_READ_ONLY = "yishi_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver so BEGIN IMMEDIATE can be used:
        # a deferred transaction that later writes can fail with SQLITE_BUSY at once
        # instead of waiting for the lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # What is deleted is overwritten, not left readable in free pages: a secret
        # vote's raw update, a forgotten person (see storage/polls.erase_order).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A reader's transaction takes no lock until it reads (Database.reading); every
        # other takes the write lock at once.
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("PRAGMA query_only = ON")  # off again after (reading)
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
