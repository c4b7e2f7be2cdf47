"""Round-table meetings: agenda, time, place, seats, sign-ups and the minutes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("agenda", sa.JSON, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("organiser_id", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("background", sa.JSON, nullable=True),
        sa.Column("minutes", sa.JSON, nullable=True),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.BigInteger, nullable=True),
        sa.Column("post_shows", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("community_id", "number", name="uq_meetings_community_id_number"),
    )
    op.create_table(
        "meeting_signups",
        sa.Column("meeting_id", sa.Integer, sa.ForeignKey("meetings.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.BigInteger,
                  sa.ForeignKey("people.user_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("attended", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("meeting_signups")
    op.drop_table("meetings")
