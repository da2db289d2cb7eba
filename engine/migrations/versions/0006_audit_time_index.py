"""audit search by time: an index on audit_event.at

The audit log page and export filter by a time range; without this index a
range alone scans the whole log.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 12:00:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_at", "audit_event", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_at", table_name="audit_event")
