"""incidents: failed steps kept for a coordinator; retry state on timers and outgoing messages

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "instance_id",
            sa.Integer(),
            sa.ForeignKey("process_instance.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "model_version_id",
            sa.Integer(),
            sa.ForeignKey("process_model_version.id"),
            nullable=False,
        ),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("task_title", sa.String(400), nullable=True),
        sa.Column("element_id", sa.String(200), nullable=True),
        sa.Column(
            "outbound_message_id",
            sa.Integer(),
            sa.ForeignKey("outbound_message.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("submitted_by", sa.String(200), nullable=True),
        sa.Column("error_type", sa.String(40), nullable=False),
        sa.Column("message", sa.String(400), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(200), nullable=True),
    )
    op.create_index("ix_incident_instance_id", "incident", ["instance_id"])
    op.create_index("ix_incident_status_last", "incident", ["status", "last_at"])
    # plain add_column: timer_job and outbound_message keep their tables as they are
    op.add_column(
        "timer_job", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("timer_job", sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "timer_job", sa.Column("on_hold", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column(
        "outbound_message",
        sa.Column("on_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_column("on_hold")
    with op.batch_alter_table("timer_job") as batch:
        batch.drop_column("on_hold")
        batch.drop_column("retry_at")
        batch.drop_column("attempts")
    op.drop_index("ix_incident_status_last", table_name="incident")
    op.drop_index("ix_incident_instance_id", table_name="incident")
    op.drop_table("incident")
