"""support: conversations, their events (feedback, handoff), outcomes linked to a conversation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(timezone=True), nullable=nullable)


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "support_conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        _time("opened_at"),
        _time("last_message_at"),
        _time("closed_at", nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("user_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("closed_by", sa.String(length=16), nullable=False),
        _count("messages"),
        _count("answers"),
        _count("fallbacks"),
        sa.Column("escalation_reason", sa.String(length=200), nullable=False),
        sa.Column("person_requested_after_answer", sa.Boolean(), nullable=False),
        sa.Column("solved", sa.Boolean(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index(
        "ix_support_conversation_opened_at", "support_conversation", ["opened_at"], unique=False
    )
    op.create_index(
        "ix_support_conversation_customer",
        "support_conversation",
        ["source_kind", "channel_id", "user_hash"],
        unique=False,
    )
    op.create_table(
        "support_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        _time("created_at"),
        sa.Column("conversation_uid", sa.String(length=32), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    op.create_index("ix_support_event_created_at", "support_event", ["created_at"], unique=False)
    op.create_index(
        "ix_support_event_conversation_uid", "support_event", ["conversation_uid"], unique=False
    )
    with op.batch_alter_table("support_outcome", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("conversation_uid", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.create_index(
            "ix_support_outcome_conversation_uid", ["conversation_uid"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("support_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_support_outcome_conversation_uid")
        batch_op.drop_column("conversation_uid")
    op.drop_table("support_event")
    op.drop_table("support_conversation")
