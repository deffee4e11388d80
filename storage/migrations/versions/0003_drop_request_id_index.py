"""inference_record: drop the request_id index (no query uses it; it slowed bulk inserts)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:55:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_inference_record_request_id", table_name="inference_record")


def downgrade() -> None:
    op.create_index(
        "ix_inference_record_request_id", "inference_record", ["request_id"], unique=False
    )
