"""sign-in attempts per address: failed password sign-ins counted for throttling

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("throttled", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_sign_in_attempt_address_at", "sign_in_attempt", ["address", "at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_attempt_address_at", table_name="sign_in_attempt")
    op.drop_table("sign_in_attempt")
