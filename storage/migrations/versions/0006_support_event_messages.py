"""support_event: what a customer message was (intent, confidence, message id, optional text)

Each customer message in a conversation becomes a ``message`` event, so the handoff to a person
can show the conversation so far: the intent and its confidence, the decision (outcome and
reason), a link to the message (its platform id), and the text only where storing text is on.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADDED = ("message_id", "intent", "confidence", "text")


def upgrade() -> None:
    with op.batch_alter_table("support_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("intent", sa.String(length=100), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.String(length=4000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("support_event", schema=None) as batch_op:
        for name in reversed(ADDED):
            batch_op.drop_column(name)
