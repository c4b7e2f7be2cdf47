"""Polls: polls, ballots, the vote log (a hash chain), and decisions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("question", sa.String(300), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("multiple", sa.Boolean, nullable=False),
        sa.Column("max_choices", sa.Integer, nullable=False),
        sa.Column("deadline", UTCDateTime, nullable=False),
        sa.Column("audience", sa.String(12), nullable=False),
        sa.Column("scope_building", sa.String(8), nullable=True),
        sa.Column("scope_staircase", sa.String(8), nullable=True),
        sa.Column("weighting", sa.String(10), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("live_results", sa.Boolean, nullable=False),
        sa.Column("secret", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("topic_id", sa.Integer, nullable=True),
        sa.Column("created_by", sa.BigInteger, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.Integer, nullable=True),
        sa.Column("post_digest", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_polls"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_polls_community_id_communities"),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], ondelete="SET NULL",
                                name="fk_polls_topic_id_topics"),
        sa.UniqueConstraint("community_id", "number", name="uq_polls_community_id_number"),
    )
    op.create_index("ix_polls_community_status", "polls", ["community_id", "status"])
    op.create_table(
        "ballots",
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("voter_key", sa.String(40), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.Column("unit_id", sa.Integer, nullable=True),
        sa.Column("unit_key", sa.String(40), nullable=True),
        sa.Column("choice", sa.JSON, nullable=False),
        sa.Column("proxy_by", sa.BigInteger, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "voter_key", name="pk_ballots"),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="CASCADE",
                                name="fk_ballots_poll_id_polls"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], ondelete="SET NULL",
                                name="fk_ballots_unit_id_units"),
    )
    op.create_index("ix_ballots_poll_unit", "ballots", ["poll_id", "unit_id"])
    op.create_table(
        "poll_keys",
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("poll_id", name="pk_poll_keys"),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="CASCADE",
                                name="fk_poll_keys_poll_id_polls"),
    )
    op.create_table(
        "poll_participants",
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("poll_id", "user_id", name="pk_poll_participants"),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="CASCADE",
                                name="fk_poll_participants_poll_id_polls"),
    )
    op.create_table(
        "poll_log",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("poll_id", sa.Integer, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("entry", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_poll_log"),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="CASCADE",
                                name="fk_poll_log_poll_id_polls"),
        sa.UniqueConstraint("poll_id", "seq", name="uq_poll_log_poll_id_seq"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("poll_id", sa.Integer, nullable=True),
        sa.Column("topic_id", sa.Integer, nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_decisions_community_id_communities"),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="SET NULL",
                                name="fk_decisions_poll_id_polls"),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], ondelete="SET NULL",
                                name="fk_decisions_topic_id_topics"),
    )


def downgrade() -> None:
    for table in ("decisions", "poll_log", "poll_participants", "poll_keys", "ballots",
                  "polls"):
        op.drop_table(table)
