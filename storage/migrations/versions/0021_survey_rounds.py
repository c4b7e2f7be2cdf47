"""Satisfaction survey rounds (共评): the rounds, who took part for which household, the
stars as counts and the comments; a group may set how many months lie between rounds, and
how many days a decision is posted for objection.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("survey_months", sa.Integer, nullable=True))
        batch.add_column(sa.Column("objection_days", sa.Integer, nullable=True))
    op.create_table(
        "survey_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community_id", sa.Integer,
                  sa.ForeignKey("communities.id", ondelete="CASCADE",
                                name="fk_survey_rounds_community_id_communities"),
                  nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("subjects", sa.JSON, nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("opened_by", sa.BigInteger, nullable=True),
        sa.Column("opened_at", UTCDateTime, nullable=False),
        sa.Column("closes_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.Column("looks_back_from", UTCDateTime, nullable=False),
        sa.Column("results", sa.JSON, nullable=True),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_survey_rounds"),
        sa.UniqueConstraint("community_id", "number",
                            name="uq_survey_rounds_community_id_number"),
    )
    op.create_table(
        "survey_takers",
        sa.Column("round_id", sa.Integer,
                  sa.ForeignKey("survey_rounds.id", ondelete="CASCADE",
                                name="fk_survey_takers_round_id_survey_rounds")),
        sa.Column("subject", sa.String(40)),
        sa.Column("unit_id", sa.Integer,
                  sa.ForeignKey("units.id", ondelete="CASCADE",
                                name="fk_survey_takers_unit_id_units")),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("round_id", "subject", "unit_id", name="pk_survey_takers"),
        sa.UniqueConstraint("round_id", "subject", "user_id",
                            name="uq_survey_takers_round_id_subject_user_id"),
    )
    op.create_table(
        "survey_scores",
        sa.Column("round_id", sa.Integer,
                  sa.ForeignKey("survey_rounds.id", ondelete="CASCADE",
                                name="fk_survey_scores_round_id_survey_rounds")),
        sa.Column("subject", sa.String(40)),
        sa.Column("stars", sa.Integer),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "subject", "stars", name="pk_survey_scores"),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_survey_scores_stars"),
    )
    op.create_table(
        "survey_comments",
        sa.Column("round_id", sa.Integer,
                  sa.ForeignKey("survey_rounds.id", ondelete="CASCADE",
                                name="fk_survey_comments_round_id_survey_rounds")),
        sa.Column("subject", sa.String(40)),
        sa.Column("token", sa.String(32)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("round_id", "subject", "token", name="pk_survey_comments"),
    )


def downgrade() -> None:
    for table in ("survey_comments", "survey_scores", "survey_takers", "survey_rounds"):
        op.drop_table(table)
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("objection_days")
        batch.drop_column("survey_months")
