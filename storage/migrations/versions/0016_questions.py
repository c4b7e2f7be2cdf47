"""Residents' questions on a poll announced ahead of voting or on a round-table meeting,
and the committee's answers.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("polls.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("meeting_id", sa.Integer, nullable=True),
        sa.Column("asker_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_by", sa.BigInteger, nullable=True),
        sa.Column("answered_at", UTCDateTime, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("questions")
