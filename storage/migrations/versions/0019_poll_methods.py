"""Ways to decide beyond one choice: a poll's method, and the reasons given with the
objections to a consent poll.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("method", sa.String(10), nullable=False,
                                   server_default="choice"))
    op.create_table(
        "poll_objections",
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("polls.id", ondelete="CASCADE"),
                  primary_key=True),
        # The ballot's key: a salted hash of the voter, or in a secret poll a keyed
        # pseudonym; never the voter's id.
        sa.Column("voter_key", sa.String(64), primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("poll_objections")
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("method")
