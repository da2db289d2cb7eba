"""API tokens, partner messages (signed outbox with retries, received ids), training clock

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # work item ids must never be reused (PostgreSQL sequences never are)
        with op.batch_alter_table(
            "work_item", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("partner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("partner_reference", sa.String(length=40), nullable=True))
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("message_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("partner", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=400), nullable=True))
        batch.create_unique_constraint("uq_outbound_message_message_id", ["message_id"])
    op.create_table(
        "received_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=100), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("message_name", sa.String(length=200), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instance.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner", "message_id"),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])
    op.create_table(
        "deployment_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("deployment_clock")
    op.drop_table("api_token")
    op.drop_table("received_message")
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_constraint("uq_outbound_message_message_id", type_="unique")
        for column in ("last_error", "next_attempt_at", "attempts", "partner", "message_id"):
            batch.drop_column(column)
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("partner_reference")
        batch.drop_column("partner")
