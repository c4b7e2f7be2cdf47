"""Decisions posted for objection (公示) before they take effect, and the objections.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_notices",
        sa.Column("decision_id", sa.Integer,
                  sa.ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("until", UTCDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_reason", sa.Text, nullable=True),
        sa.Column("settled_by", sa.BigInteger, nullable=True),
        sa.Column("settled_at", UTCDateTime, nullable=True),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.BigInteger, nullable=True),
        sa.Column("post_shows", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "decision_objections",
        sa.Column("decision_id", sa.Integer,
                  sa.ForeignKey("decisions.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("decision_objections")
    op.drop_table("decision_notices")
