"""inference_record: the replica that served it, and its share of the batch's times

Every record carries the id of the service replica that served it (each replica has its own
spool, named after it), and its share of the batch's wall, CPU and GPU time in microseconds, so
a record priced with a price sheet its process had not loaded yet can be priced again exactly
by the version valid at its ``created_at`` (``costing.repricing``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARES = ("wall_us", "cpu_us", "gpu_us")


def upgrade() -> None:
    with op.batch_alter_table("inference_record") as batch:
        batch.add_column(
            sa.Column("replica_id", sa.String(length=64), nullable=False, server_default="")
        )
        for name in SHARES:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("inference_record") as batch:
        for name in (*reversed(SHARES), "replica_id"):
            batch.drop_column(name)
