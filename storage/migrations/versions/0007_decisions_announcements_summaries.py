"""Decisions get owners, due dates, progress, milestones, followers and ratings;
announcements; weekly summaries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("number", sa.Integer, nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(sa.Column("owner_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("due_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("progress", sa.Integer, nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(sa.Column("reason", sa.Text, nullable=True))
        batch.add_column(sa.Column("updated_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("done_at", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("rating_chat_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("rating_message_id", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_decisions_owner_id_people", "people", ["owner_id"],
                                 ["user_id"], ondelete="SET NULL")
    # Number the decisions that exist, per community, in the order they were made.
    op.execute("UPDATE decisions SET number = (SELECT COUNT(*) FROM decisions AS earlier "
               "WHERE earlier.community_id = decisions.community_id "
               "AND earlier.id <= decisions.id)")
    with op.batch_alter_table("decisions") as batch:
        batch.create_unique_constraint("uq_decisions_community_id_number",
                                       ["community_id", "number"])
    op.create_table(
        "decision_milestones",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("decision_id", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_decision_milestones"),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], ondelete="CASCADE",
                                name="fk_decision_milestones_decision_id_decisions"),
    )
    op.create_index("ix_decision_milestones_decision_id", "decision_milestones",
                    ["decision_id"])
    op.create_table(
        "decision_updates",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("decision_id", sa.Integer, nullable=False),
        sa.Column("actor_id", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("percent", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("next_step", sa.Text, nullable=True),
        sa.Column("photos", sa.JSON, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decision_updates"),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], ondelete="CASCADE",
                                name="fk_decision_updates_decision_id_decisions"),
    )
    op.create_index("ix_decision_updates_decision_id", "decision_updates", ["decision_id"])
    for name, extra in (("decision_followers", []),
                        ("decision_ratings", [sa.Column("stars", sa.Integer,
                                                        nullable=False)])):
        op.create_table(
            name,
            sa.Column("decision_id", sa.Integer, nullable=False),
            sa.Column("user_id", sa.BigInteger, nullable=False),
            *extra,
            sa.Column("at", UTCDateTime, nullable=False),
            sa.PrimaryKeyConstraint("decision_id", "user_id", name=f"pk_{name}"),
            sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], ondelete="CASCADE",
                                    name=f"fk_{name}_decision_id_decisions"),
            sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                    name=f"fk_{name}_user_id_people"),
        )
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("author_id", sa.BigInteger, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("photo_file_id", sa.String(256), nullable=True),
        sa.Column("cron", sa.String(64), nullable=True),
        sa.Column("run_at", UTCDateTime, nullable=True),
        sa.Column("pin", sa.Boolean, nullable=False),
        sa.Column("in_quiet_hours", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("runs", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_run_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_announcements"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_announcements_community_id_communities"),
    )
    op.create_index("ix_announcements_community_id", "announcements", ["community_id"])
    op.create_table(
        "summaries",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("week_start", UTCDateTime, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("chart_file_id", sa.String(256), nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_summaries"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_summaries_community_id_communities"),
        sa.UniqueConstraint("community_id", "week_start",
                            name="uq_summaries_community_id_week_start"),
    )


def downgrade() -> None:
    op.drop_table("summaries")
    op.drop_index("ix_announcements_community_id", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("decision_ratings")
    op.drop_table("decision_followers")
    op.drop_index("ix_decision_updates_decision_id", table_name="decision_updates")
    op.drop_table("decision_updates")
    op.drop_index("ix_decision_milestones_decision_id", table_name="decision_milestones")
    op.drop_table("decision_milestones")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("uq_decisions_community_id_number", type_="unique")
        batch.drop_constraint("fk_decisions_owner_id_people", type_="foreignkey")
        for column in ("rating_message_id", "rating_chat_id", "done_at", "updated_at",
                       "reason", "progress", "due_at", "owner_id", "number"):
            batch.drop_column(column)
