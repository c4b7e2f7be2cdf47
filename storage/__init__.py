"""Persistence: the schema, its migrations and one repository module per aggregate.

This package is the only place that speaks SQL. Repository functions take an open
connection and return pydantic models; the caller decides where a transaction begins
and ends (``async with db.transaction() as conn``).
"""

from storage.database import Connection, Database, DatabaseError

__all__ = ["Connection", "Database", "DatabaseError"]
