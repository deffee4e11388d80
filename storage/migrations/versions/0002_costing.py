"""costing: roll-ups keep energy money by provenance, and support outcome counts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 21:17:00.402857
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("cost_energy_counter_pico", "cost_energy_power_time_pico", "resolved", "escalated")


def upgrade() -> None:
    with op.batch_alter_table("cost_rollup", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    with op.batch_alter_table("cost_rollup", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
