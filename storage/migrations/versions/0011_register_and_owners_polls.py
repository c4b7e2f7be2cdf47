"""The building's register (owners on record, on Telegram or not), paper ballots that
name who signed and can be voided with a reason, a notice period before voting, and the
vote log's head as it was posted in the group.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_owners",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.Column("developer", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("unit_id", "name", name="uq_unit_owners_unit_name"),
    )
    op.create_index("ix_unit_owners_community", "unit_owners", ["community_id"])
    op.create_table(
        "ballot_voids",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("polls.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=True),
        sa.Column("choice", sa.JSON, nullable=False),
        sa.Column("signed_by", sa.String(100), nullable=True),
        sa.Column("paper", sa.Boolean, nullable=False),
        sa.Column("voided_by", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_ballot_voids_poll", "ballot_voids", ["poll_id"])
    op.create_table(
        "poll_unit_voters",
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("polls.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("unit_id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
    )
    with op.batch_alter_table("ballots") as batch:
        batch.add_column(sa.Column("signed_by", sa.String(100), nullable=True))
    with op.batch_alter_table("poll_participants") as batch:
        batch.alter_column("at", existing_type=UTCDateTime, nullable=True)
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("opens_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("notice", sa.JSON, nullable=True))
        batch.add_column(sa.Column("head_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("head_entries", sa.Integer, nullable=True))
        batch.add_column(sa.Column("head_chat_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("head_message_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        for column in ("head_message_id", "head_chat_id", "head_entries", "head_hash",
                       "notice", "opens_at"):
            batch.drop_column(column)
    with op.batch_alter_table("poll_participants") as batch:
        batch.alter_column("at", existing_type=UTCDateTime, nullable=False)
    with op.batch_alter_table("ballots") as batch:
        batch.drop_column("signed_by")
    op.drop_table("poll_unit_voters")
    op.drop_index("ix_ballot_voids_poll", table_name="ballot_voids")
    op.drop_table("ballot_voids")
    op.drop_index("ix_unit_owners_community", table_name="unit_owners")
    op.drop_table("unit_owners")
