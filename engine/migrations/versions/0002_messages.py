"""message subscriptions and the outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("task_name", sa.String(length=200), nullable=False),
        sa.Column("message_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "task_id"),
    )
    op.create_index("ix_message_subscription_instance_id", "message_subscription", ["instance_id"])
    op.create_index(
        "ix_message_subscription_message_name", "message_subscription", ["message_name"]
    )
    op.create_table(
        "outbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("message_name", sa.String(length=200), nullable=False),
        sa.Column("correlation", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbound_message_instance_id", "outbound_message", ["instance_id"])
    op.create_index("ix_outbound_message_delivered_at", "outbound_message", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("outbound_message")
    op.drop_table("message_subscription")
