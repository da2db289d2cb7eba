"""case values beside the audit: answers kept erasable, per-case hash keys, retention dates

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 10:00:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("process_instance", sa.Column("value_key", sa.LargeBinary(), nullable=True))
    op.add_column(
        "process_instance", sa.Column("retain_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "process_instance", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "case_value",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "instance_id",
            sa.Integer(),
            sa.ForeignKey("process_instance.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_case_value_instance_seq", "case_value", ["instance_id", "audit_seq"])
    # every case gets its own key; events written before this revision keep what they hold
    instances = sa.table("process_instance", sa.column("id"), sa.column("value_key"))
    connection = op.get_bind()
    for (instance_id,) in connection.execute(sa.select(instances.c.id)):
        connection.execute(
            instances.update()
            .where(instances.c.id == instance_id)
            .values(value_key=secrets.token_bytes(32))
        )


def downgrade() -> None:
    op.drop_index("ix_case_value_instance_seq", table_name="case_value")
    op.drop_table("case_value")
    op.drop_column("process_instance", "erased_at")
    op.drop_column("process_instance", "retain_until")
    op.drop_column("process_instance", "value_key")
