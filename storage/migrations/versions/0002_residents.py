"""Residents: units, residents (join requests and verified ties), the points ledger.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("leaderboard", sa.Boolean, nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("moderators_chat_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("link_code", sa.String(16), nullable=True))
        batch.create_unique_constraint("uq_communities_moderators_chat_id",
                                       ["moderators_chat_id"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("public_name", sa.String(8), nullable=False,
                                   server_default="initials"))
    op.create_table(
        "units",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("building", sa.String(8), nullable=False),
        sa.Column("staircase", sa.String(8), nullable=False, server_default=""),
        sa.Column("room", sa.String(8), nullable=False),
        sa.Column("area_m2", sa.Float, nullable=True),
        sa.Column("voter_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_units_community_id_communities"),
        sa.UniqueConstraint("community_id", "building", "staircase", "room",
                            name="uq_units_community_id_building_staircase_room"),
    )
    op.create_table(
        "residents",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=False),
        sa.Column("relation", sa.String(8), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("area_claimed", sa.Float, nullable=True),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("decided_by", sa.BigInteger, nullable=True),
        sa.Column("notices", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_residents_community_id_communities"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_residents_user_id_people"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], ondelete="CASCADE",
                                name="fk_residents_unit_id_units"),
        sa.UniqueConstraint("community_id", "user_id", "unit_id",
                            name="uq_residents_community_id_user_id_unit_id"),
    )
    op.create_index("ix_residents_community_status", "residents", ["community_id", "status"])
    op.create_index("ix_residents_user_id", "residents", ["user_id"])
    op.create_table(
        "points_ledger",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.Column("revoked_by", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_points_ledger"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_points_ledger_community_id_communities"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_points_ledger_user_id_people"),
        sa.UniqueConstraint("community_id", "user_id", "action", "ref",
                            name="uq_points_ledger_community_id_user_id_action_ref"),
    )
    op.create_index("ix_points_ledger_community_at", "points_ledger", ["community_id", "at"])


def downgrade() -> None:
    op.drop_table("points_ledger")
    op.drop_table("residents")
    op.drop_table("units")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("public_name")
    with op.batch_alter_table("communities") as batch:
        batch.drop_constraint("uq_communities_moderators_chat_id", type_="unique")
        batch.drop_column("link_code")
        batch.drop_column("moderators_chat_id")
        batch.drop_column("leaderboard")
