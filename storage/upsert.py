"""INSERT ... ON CONFLICT for both SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def _statement(conn: AsyncConnection, table: Table, *, conflict: Sequence[str],
               update: Sequence[str]) -> Any:
    # Built once per shape and kept: a statement is immutable, and building one (with its
    # EXCLUDED columns) and keying it for SQLAlchemy's compiled cache cost more than
    # writing a hundred rows with it.
    return _built(conn.dialect.name, table, tuple(conflict), tuple(update))


@functools.cache
def _built(dialect_name: str, table: Table, conflict: tuple[str, ...],
           update: tuple[str, ...]) -> Any:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    if update:
        return statement.on_conflict_do_update(
            index_elements=list(conflict),
            set_={column: statement.excluded[column] for column in update},
        )
    return statement.on_conflict_do_nothing(index_elements=list(conflict))


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> int:
    """Insert ``values``; on a clash of the ``conflict`` columns, overwrite ``update`` columns.

    Returns the number of rows written (0 when a clash was ignored).
    """
    statement = _statement(conn, table, conflict=conflict, update=update).values(**values)
    result = await conn.execute(statement)
    return int(result.rowcount)


async def upsert_many(
    conn: AsyncConnection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str],
) -> None:
    """:func:`upsert` for many rows in one statement (no count: drivers differ on it)."""
    if rows:
        await conn.execute(_statement(conn, table, conflict=conflict, update=update),
                           list(rows))
