"""A salt per voter: a public ballot and its vote-log entry name the voter by a salted hash,
never by their Telegram id, so forgetting a person (deleting the salt) leaves the chain
intact and nothing that leads back to them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voter_salts",
        sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("salt", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("voter_salts")
