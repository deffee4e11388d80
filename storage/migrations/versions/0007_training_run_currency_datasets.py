"""training_run: its currency and the dataset versions it was trained on

A training run's money is in the currency of the prices it was priced with (reports refuse to sum
two currencies). Data annotation is a cost of a dataset version, not of each run: the run lists the
dataset versions it used (name, version, provenance, labels, annotation cost, currency), and a
report charges each version once. Existing runs get USD and an empty list.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("training_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("currency", sa.String(length=3), nullable=False, server_default="USD")
        )
        batch_op.add_column(
            sa.Column("datasets", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("training_run", schema=None) as batch_op:
        batch_op.drop_column("datasets")
        batch_op.drop_column("currency")
