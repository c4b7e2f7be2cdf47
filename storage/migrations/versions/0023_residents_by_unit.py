"""A unit's members are looked up by unit (every batch of votes reads the households of
the people pressing, with everyone who belongs to them): an index on residents.unit_id.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_residents_unit_id", "residents", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_residents_unit_id", table_name="residents")
