"""Neighbours helping neighbours and the time bank: requests and offers of help, who
answered them, the ledger of credits (only ever added to: the database refuses a change
to an entry),
balances that cannot go below zero, transfers within a household, a community's own rates.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# What an entry says can never change; only who made a reversal is cleared when that person
# asks to be forgotten.
_KEPT = "community_id, user_id, kind, amount, ref, reason, reverses, at"
_APPEND_ONLY = "time bank ledger entries are never changed; reverse one instead"


def upgrade() -> None:
    op.create_table(
        "helps",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("side", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("author_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("partner_id", sa.BigInteger, nullable=True),
        sa.Column("claimed_minutes", sa.Integer, nullable=True),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.BigInteger, nullable=True),
        sa.Column("post_shows", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("community_id", "number", name="uq_helps_community_id_number"),
    )
    op.create_table(
        "help_answers",
        sa.Column("help_id", sa.Integer, sa.ForeignKey("helps.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "time_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("reverses", sa.Integer, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("by", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("reverses", name="uq_time_ledger_reverses"),
    )
    op.create_index("ix_time_ledger_community_id_user_id", "time_ledger",
                    ["community_id", "user_id"])
    op.create_table(
        "time_balances",
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("balance", sa.Integer, nullable=False),
        sa.CheckConstraint("balance >= 0", name="ck_time_balances_not_negative"),
    )
    op.create_table(
        "time_transfers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("to_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
    )
    op.create_table(
        "time_rates",
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("per_hour", sa.Integer, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION time_ledger_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""")
        op.execute(f"""
            CREATE TRIGGER time_ledger_append_only BEFORE UPDATE OF {_KEPT} ON time_ledger
            FOR EACH ROW EXECUTE FUNCTION time_ledger_append_only()""")
    else:
        op.execute(f"""
            CREATE TRIGGER time_ledger_append_only BEFORE UPDATE OF {_KEPT} ON time_ledger
            BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS time_ledger_append_only" + (
        " ON time_ledger" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS time_ledger_append_only()")
    for table in ("time_rates", "time_transfers", "time_balances", "time_ledger",
                  "help_answers", "helps"):
        op.drop_table(table)
