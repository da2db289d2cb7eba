"""sign-in state, user language, work item stage and drafts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(
            sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=10), nullable=True))
    with op.batch_alter_table("work_item") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("draft", sa.Text(), nullable=True))
        batch.add_column(sa.Column("draft_by", sa.String(length=200), nullable=True))
        batch.create_index("ix_work_item_stage", ["stage"])


def downgrade() -> None:
    with op.batch_alter_table("work_item") as batch:
        batch.drop_index("ix_work_item_stage")
        batch.drop_column("draft_by")
        batch.drop_column("draft")
        batch.drop_column("stage")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("language")
        batch.drop_column("locked_until")
        batch.drop_column("failed_sign_ins")
