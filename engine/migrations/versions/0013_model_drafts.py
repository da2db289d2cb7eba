"""model drafts: a coordinator's saved, undeployed edit of a process

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("files", sa.LargeBinary(), nullable=False),
        sa.Column(
            "base_version_id",
            sa.Integer(),
            sa.ForeignKey("process_model_version.id"),
            nullable=True,
        ),
        sa.Column("saved_by", sa.String(200), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("model_draft")
