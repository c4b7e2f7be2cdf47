"""Volunteer activities with their sign-ups and attendance; the committee's rewards, their
redemptions, and the points each person has spent.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _community() -> sa.Column:
    return sa.Column("community_id", sa.Integer,
                     sa.ForeignKey("communities.id", ondelete="CASCADE"), nullable=False)


def _person(name: str = "user_id", **extra: object) -> sa.Column:
    return sa.Column(name, sa.BigInteger, sa.ForeignKey("people.user_id", ondelete="CASCADE"),
                     nullable=False, **extra)


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _community(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
        sa.Column("organiser_id", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.BigInteger, nullable=True),
        sa.Column("post_shows", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("community_id", "number",
                            name="uq_activities_community_id_number"),
    )
    op.create_table(
        "activity_signups",
        sa.Column("activity_id", sa.Integer,
                  sa.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
        _person(primary_key=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("attended", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "rewards",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _community(),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("price", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint("stock >= 0", name="ck_rewards_stock_not_negative"),
        sa.UniqueConstraint("community_id", "number", name="uq_rewards_community_id_number"),
    )
    op.create_table(
        "redemptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _community(),
        sa.Column("reward_id", sa.Integer, sa.ForeignKey("rewards.id", ondelete="CASCADE"),
                  nullable=False),
        _person(),
        sa.Column("price", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("user_id", "token", name="uq_redemptions_user_id_token"),
    )
    op.create_table(
        "point_wallets",
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True),
        _person(primary_key=True),
        sa.Column("spent", sa.Integer, nullable=False),
        sa.CheckConstraint("spent >= 0", name="ck_point_wallets_spent_not_negative"),
    )


def downgrade() -> None:
    for table in ("point_wallets", "redemptions", "rewards", "activity_signups",
                  "activities"):
        op.drop_table(table)
